"""Fault injection in the ERP sandbox, seen through the connector and raw HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.runtime.errors import BackendRejected, BackendUnavailable
from ledgerbridge.sandboxes.erp import create_app

FAULTS = "http://erp.test/sandbox/admin/faults"
BP = "API_BUSINESS_PARTNER"


@pytest.fixture
async def admin(erp_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the sandbox's admin routes."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=erp_app), auth=("LEDGERBRIDGE", "sandbox-secret")
    ) as client:
        yield client


async def test_error_rate_one_turns_route_into_503(
    s4: S4HanaClient, admin: httpx.AsyncClient
) -> None:
    """A 503 rate of 1 on one service fails it (BackendUnavailable) and spares the others."""
    plan = {
        "rules": [{"route": "/sap/opu/odata/sap/API_BUSINESS_PARTNER/*", "error_rates": {"503": 1}}]
    }
    assert (await admin.put(FAULTS, json=plan)).status_code == 200
    with pytest.raises(BackendUnavailable, match="injected"):
        await s4.query(BP, "A_BusinessPartner")
    assert await s4.query("API_PRODUCT_SRV", "A_Product") == []
    assert (await admin.get(FAULTS)).json()["injected"] == {"503": 1}
    assert (await admin.delete(FAULTS)).status_code == 204
    assert await s4.query(BP, "A_BusinessPartner") == []


async def test_rules_can_target_methods_and_4xx(
    s4: S4HanaClient, admin: httpx.AsyncClient, partner_payload
) -> None:
    """A rule limited to POST leaves reads alone; a 429 surfaces as BackendRejected."""
    plan = {
        "rules": [{"methods": ["POST"], "route": "*/A_BusinessPartner", "error_rates": {"429": 1}}]
    }
    await admin.put(FAULTS, json=plan)
    assert await s4.query(BP, "A_BusinessPartner") == []
    with pytest.raises(BackendRejected) as caught:
        await s4.create(BP, "A_BusinessPartner", partner_payload())
    assert caught.value.status_code == 429


async def test_same_seed_replays_the_same_faults(
    erp_app: FastAPI, admin: httpx.AsyncClient
) -> None:
    """Loading a plan with the same seed yields the same sequence of outcomes."""
    plan = {"seed": 7, "rules": [{"error_rates": {"500": 0.3, "503": 0.3}}]}

    async def outcomes() -> list[int]:
        await admin.put(FAULTS, json=plan)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=erp_app),
            auth=("LEDGERBRIDGE", "sandbox-secret"),
            headers={"Accept": "application/json"},
        ) as client:
            return [
                (
                    await client.get(f"http://erp.test/sap/opu/odata/sap/{BP}/A_BusinessPartner")
                ).status_code
                for _ in range(30)
            ]

    first, second = await outcomes(), await outcomes()
    assert first == second
    assert {200, 500, 503} == set(first)


async def test_outage_window_follows_the_clock(partner_payload) -> None:
    """Inside an outage window every matching request gets 503 with Retry-After."""
    now = [datetime(2026, 6, 1, 12, 0, tzinfo=UTC)]
    app = create_app(clock=lambda: now[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        auth=("LEDGERBRIDGE", "sandbox-secret"),
        headers={"Accept": "application/json"},
    ) as client:
        window = {"start": "2026-06-01T12:05:00Z", "end": "2026-06-01T12:10:00Z"}
        await client.put(FAULTS, json={"rules": [{"outages": [window]}]})
        url = f"http://erp.test/sap/opu/odata/sap/{BP}/A_BusinessPartner"
        assert (await client.get(url)).status_code == 200
        now[0] += timedelta(minutes=5)
        down = await client.get(url)
        assert down.status_code == 503
        assert down.headers["Retry-After"] == "1"
        assert "outage" in down.json()["error"]["message"]["value"]
        now[0] += timedelta(minutes=5)
        assert (await client.get(url)).status_code == 200


async def test_invalid_plan_is_refused(admin: httpx.AsyncClient) -> None:
    """Rates outside 0..1, non-error statuses and reversed windows are rejected with 422."""
    for rule in (
        {"error_rates": {"503": 1.5}},
        {"error_rates": {"200": 0.1}},
        {"outages": [{"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}]},
    ):
        assert (await admin.put(FAULTS, json={"rules": [rule]})).status_code == 422


@pytest.mark.slow
async def test_latency_beyond_the_client_timeout_is_backend_unavailable(erp_server: str) -> None:
    """Injected latency longer than the connector's timeout surfaces as BackendUnavailable."""
    root = erp_server.split("/sap/")[0]
    async with httpx.AsyncClient(auth=("LEDGERBRIDGE", "sandbox-secret")) as admin:
        plan = {"rules": [{"route": "*/A_BusinessPartner", "latency_ms": 400}]}
        (await admin.put(f"{root}/sandbox/admin/faults", json=plan)).raise_for_status()
    async with S4HanaClient(
        base_url=erp_server, username="LEDGERBRIDGE", password="sandbox-secret", timeout=0.1
    ) as s4:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable):
            await s4.query(BP, "A_BusinessPartner")
        assert time.monotonic() - started < 0.4
        assert await s4.query("API_PRODUCT_SRV", "A_Product") == []
