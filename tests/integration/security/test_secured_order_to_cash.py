"""Order-to-cash through the reference house with authentication on, over the sandboxes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.test_order_to_cash import _crm_order

from ledgerbridge.runtime.security import EXCHANGE_GRANT
from ledgerbridge.runtime.settings import ProcessSettings

from .reference import PREFIX, Reference, reference_house

ORDERS = "/process/order-to-cash/v1/orders"


@pytest.fixture
async def reference(tmp_path: Path) -> AsyncIterator[Reference]:
    workers = ProcessSettings(advance_interval=0.2)
    async with reference_house(tmp_path, process=workers) as running:
        yield running


async def _until(reference: Reference, found: Any) -> list[dict[str, Any]]:
    """The token events once ``found(events)`` holds (the workers run on their own)."""
    for _ in range(200):
        events = await reference.token_events()
        if found(events):
            return events
        await asyncio.sleep(0.05)
    return await reference.token_events()


async def test_an_order_goes_through_with_exchanged_tokens_on_every_hop(
    reference: Reference,
) -> None:
    """A back-office caller starts an order; each call below carries a token exchanged for
    that API alone, with the caller as subject and the chain of APIs in ``act``: order-to-cash,
    and credit-verification acting for it on the calls it makes."""
    ids = await _crm_order(reference)  # type: ignore[arg-type]
    token = await reference.client_token("back-office", "order-to-cash:write order-to-cash:read")
    headers = {"Authorization": f"Bearer {token}"}

    started = await reference.http.post(
        ORDERS, json={"crm_order_id": ids["order"]}, headers=headers
    )
    assert started.status_code == 201, started.text
    assert started.json()["status"] == "in_erp"
    read = await reference.http.get(f"{ORDERS}/{ids['order']}", headers=headers)
    assert read.status_code == 200

    hops = [e for e in await reference.token_events() if e["grant_type"] == EXCHANGE_GRANT]
    targets = {hop["target"] for hop in hops}
    assert {f"{PREFIX}crm-orders", f"{PREFIX}erp-customers", f"{PREFIX}erp-sales-orders"} <= targets
    assert f"{PREFIX}credit-verification" in targets
    for hop in hops:
        assert hop["subject"] == "back-office"
        if hop["actor"] == "credit-verification":
            assert hop["act"] == {"sub": "credit-verification", "act": {"sub": "order-to-cash"}}
        else:
            assert hop["actor"] == "order-to-cash"
            assert hop["act"] == {"sub": "order-to-cash"}
        # One audience per hop, and only that API's scopes.
        api = hop["target"].removeprefix(PREFIX)
        assert " " not in hop["target"]
        assert all(scope.startswith(f"{api}:") for scope in hop["scope"].split())


async def test_the_house_refuses_an_order_without_a_token(reference: Reference) -> None:
    """With auth on, starting an order without a token is a 401 and nothing is started."""
    ids = await _crm_order(reference)  # type: ignore[arg-type]
    refused = await reference.http.post(ORDERS, json={"crm_order_id": ids["order"]})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
    token = await reference.client_token("back-office", "order-to-cash:read")
    missing = await reference.http.get(
        f"{ORDERS}/{ids['order']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert missing.status_code == 404


async def test_the_workers_call_the_system_layer_as_order_to_cash(reference: Reference) -> None:
    """The case advancer has no caller: it gets tokens of its own as order-to-cash."""
    ids = await _crm_order(reference)  # type: ignore[arg-type]
    token = await reference.client_token("back-office", "order-to-cash:write")
    started = await reference.http.post(
        ORDERS, json={"crm_order_id": ids["order"]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert started.status_code == 201, started.text
    events = await _until(
        reference,
        lambda events: any(
            e["grant_type"] == "client_credentials" and e["actor"] == "order-to-cash"
            for e in events
        ),
    )
    own = [
        e for e in events if e["grant_type"] == "client_credentials" and e["actor"] != "back-office"
    ]
    assert own, events
    assert all(e["subject"] == "order-to-cash" and e["act"] is None for e in own)
    assert all(e["target"].startswith(f"{PREFIX}erp-") or "crm-" in e["target"] for e in own)
