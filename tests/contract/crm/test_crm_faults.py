"""Fault injection and session expiry through /sandbox/admin, seen by the connector."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.sandboxes.crm import create_app

from .conftest import BASE_URL, DATA

ADMIN = httpx.BasicAuth("ledgerbridge", "sandbox-secret")


def _admin(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, auth=ADMIN)


async def _plan(app: FastAPI, plan: dict[str, Any]) -> None:
    async with _admin(app) as admin:
        response = await admin.put("/sandbox/admin/faults", json=plan)
    assert response.status_code == 200, response.text


async def test_admin_needs_the_client_credentials(crm_app: FastAPI) -> None:
    """Admin calls without the client id and secret are refused."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=crm_app), base_url=BASE_URL
    ) as anonymous:
        response = await anonymous.get("/sandbox/admin/faults")
    assert response.status_code == 401


async def test_injected_errors_reach_the_connector_as_unavailable(
    crm_app: FastAPI, salesforce: SalesforceClient
) -> None:
    """A 503 rule makes data calls fail retryably until the plan is cleared."""
    record_id = await salesforce.create("Account", {"Name": "Acme"})
    await _plan(crm_app, {"rules": [{"route": "/services/data/*", "error_rates": {"503": 1.0}}]})
    with pytest.raises(BackendUnavailable, match="SERVER_UNAVAILABLE") as caught:
        await salesforce.get("Account", record_id)
    assert caught.value.status_code == 503
    async with _admin(crm_app) as admin:
        counted = (await admin.get("/sandbox/admin/faults")).json()["injected"]
        await admin.delete("/sandbox/admin/faults")
    assert counted == {"503": 1}
    assert (await salesforce.get("Account", record_id)).fields["Name"] == "Acme"


async def test_a_faulted_login_is_unavailable(crm_app: FastAPI) -> None:
    """A 500 on the token endpoint surfaces as BackendUnavailable, not AuthFailed."""
    await _plan(crm_app, {"rules": [{"route": "/services/oauth2/*", "error_rates": {"500": 1}}]})
    async with SalesforceClient(
        base_url=BASE_URL,
        client_id="ledgerbridge",
        client_secret="sandbox-secret",
        transport=httpx.ASGITransport(app=crm_app),
    ) as salesforce:
        with pytest.raises(BackendUnavailable):
            await salesforce.query("SELECT Id FROM Account")


async def test_outage_windows_follow_the_clock() -> None:
    """Inside an outage window matching calls get 503 with Retry-After; outside they pass."""
    now = [datetime(2025, 3, 1, 12, 0, tzinfo=UTC)]
    app = create_app(clock=lambda: now[0])
    window = {"start": "2025-03-01T12:30:00Z", "end": "2025-03-01T13:00:00Z"}
    await _plan(app, {"rules": [{"route": "/services/data/*", "outages": [window]}]})
    async with _admin(app) as client:
        client.auth = None
        token = await client.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "ledgerbridge",
                "client_secret": "sandbox-secret",
            },
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        before = await client.get(f"{DATA}/limits", headers=headers)
        now[0] += timedelta(minutes=45)
        during = await client.get(f"{DATA}/limits", headers=headers)
    assert before.status_code == 200
    assert during.status_code == 503
    assert during.headers["Retry-After"] == "1"
    assert during.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


async def test_seeded_error_rates_replay_the_same_faults(
    http: httpx.AsyncClient, crm_app: FastAPI
) -> None:
    """The same seed gives the same sequence of injected failures."""
    plan = {"seed": 7, "rules": [{"route": "/services/data/*", "error_rates": {"500": 0.5}}]}
    runs = []
    for _ in range(2):
        await _plan(crm_app, plan)
        runs.append([(await http.get(f"{DATA}/limits")).status_code for _ in range(12)])
    assert runs[0] == runs[1]
    assert {200, 500} == set(runs[0])


async def test_latency_is_added(http: httpx.AsyncClient, crm_app: FastAPI) -> None:
    """A latency rule delays matching requests."""
    await _plan(crm_app, {"rules": [{"route": "/services/data/*/limits", "latency_ms": 150}]})
    started = time.perf_counter()
    response = await http.get(f"{DATA}/limits")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.15


async def test_expired_sessions_make_clients_log_in_again(
    crm_app: FastAPI, salesforce: SalesforceClient, http: httpx.AsyncClient
) -> None:
    """After /sandbox/admin/sessions/expire old tokens fail and the connector recovers."""
    await salesforce.create("Account", {"Name": "Acme"})
    async with _admin(crm_app) as admin:
        assert (await admin.post("/sandbox/admin/sessions/expire")).status_code == 204
    assert (await http.get(f"{DATA}/limits")).status_code == 401
    assert len(await salesforce.query("SELECT Id FROM Account")) == 1


async def test_invalid_plans_are_refused(crm_app: FastAPI) -> None:
    """Rates above 1 or non-error statuses are rejected by validation."""
    async with _admin(crm_app) as admin:
        response = await admin.put(
            "/sandbox/admin/faults", json={"rules": [{"error_rates": {"200": 0.5}}]}
        )
    assert response.status_code == 422
