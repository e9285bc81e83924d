"""Business events of the ERP sandbox: SAP type names, stream reads, webhooks, delta reads."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from ledgerbridge.connectors.s4hana import S4HanaClient, odata_literal
from ledgerbridge.runtime.errors import BackendRejected
from ledgerbridge.sandboxes.erp import create_app

SANDBOX = "http://erp.test/sandbox"
SO = "API_SALES_ORDER_SRV"


class Receiver:
    """A webhook endpoint that records CloudEvents and fails its first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls = 0
        self.events: list[dict[str, Any]] = []
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            self.calls += 1
            if self.calls <= self.failures:
                return Response(status_code=503)
            self.events.append(await request.json())
            return Response(status_code=204)


@pytest.fixture
async def sandbox(erp_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the sandbox's own routes."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=erp_app), auth=("LEDGERBRIDGE", "sandbox-secret")
    ) as client:
        yield client


async def test_events_carry_sap_types_in_order(
    s4: S4HanaClient, sandbox: httpx.AsyncClient, customer: str, order_payload
) -> None:
    """Creating master data and an order emits SAP-named CloudEvents, readable by cursor."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer))
    page = (await sandbox.get(f"{SANDBOX}/events")).json()
    types = [e["type"] for e in page["events"]]
    assert types[-2:] == [
        "sap.s4.beh.businesspartner.v1.BusinessPartner.Created.v1",
        "sap.s4.beh.salesorder.v1.SalesOrder.Created.v1",
    ]
    assert types.count("sap.s4.beh.product.v1.Product.Created.v1") == 4
    created = page["events"][-1]
    assert created["specversion"] == "1.0"
    assert created["source"].startswith("/default/sap.s4.beh/")
    assert created["data"]["SalesOrder"] == "1"
    assert created["data"]["SoldToParty"] == customer
    later = (await sandbox.get(f"{SANDBOX}/events", params={"after": page["next"]})).json()
    assert later == {"events": [], "next": page["next"]}
    only_orders = (
        await sandbox.get(f"{SANDBOX}/events", params={"type": "sap.s4.beh.salesorder.*"})
    ).json()
    assert [e["data"]["SalesOrder"] for e in only_orders["events"]] == ["1"]


async def test_rejected_write_emits_no_event(
    s4: S4HanaClient, sandbox: httpx.AsyncClient, order_payload
) -> None:
    """An order refused by validation leaves no event behind (events share the transaction)."""
    with pytest.raises(BackendRejected):
        await s4.create(SO, "A_SalesOrder", order_payload("42"))
    assert (await sandbox.get(f"{SANDBOX}/events")).json()["events"] == []


async def test_webhook_is_retried_until_acknowledged(partner_payload) -> None:
    """A webhook answering 503 gets the same event again after the backoff, then the next ones."""
    receiver = Receiver(failures=1)
    now = [datetime(2026, 3, 1, 8, 0, tzinfo=UTC)]
    app = create_app(clock=lambda: now[0], webhook_transport=httpx.ASGITransport(app=receiver.app))
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), auth=("LEDGERBRIDGE", "sandbox-secret")
        ) as sandbox,
        S4HanaClient(
            base_url="http://erp.test/sap/opu/odata/sap",
            username="LEDGERBRIDGE",
            password="sandbox-secret",
            transport=httpx.ASGITransport(app=app),
        ) as s4,
    ):
        subscribed = await sandbox.post(
            f"{SANDBOX}/events/subscriptions",
            json={"url": "http://receiver.test/hook", "types": ["sap.s4.beh.businesspartner.*"]},
        )
        assert subscribed.status_code == 201
        await s4.create("API_BUSINESS_PARTNER", "A_BusinessPartner", partner_payload("A"))
        await s4.create("API_BUSINESS_PARTNER", "A_BusinessPartner", partner_payload("B"))
        await s4.create("API_PRODUCT_SRV", "A_Product", {"Product": "NOT-SUBSCRIBED"})

        assert (await sandbox.post(f"{SANDBOX}/admin/events/deliver")).json() == {"delivered": 0}
        assert receiver.events == []
        listed = (await sandbox.get(f"{SANDBOX}/events/subscriptions")).json()
        assert listed["subscriptions"][0]["pending"] == 2

        now[0] += timedelta(seconds=1)
        assert (await sandbox.post(f"{SANDBOX}/admin/events/deliver")).json() == {"delivered": 2}
        assert [e["data"]["BusinessPartner"] for e in receiver.events] == ["1000000", "1000001"]
        assert receiver.calls == 3

        sub_id = subscribed.json()["id"]
        assert (await sandbox.delete(f"{SANDBOX}/events/subscriptions/{sub_id}")).status_code == 204
        assert (await sandbox.delete(f"{SANDBOX}/events/subscriptions/{sub_id}")).status_code == 404


async def test_delta_read_by_last_change_date_time(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """Filtering LastChangeDateTime above the last seen value returns exactly what changed."""
    for _ in range(3):
        await s4.create(SO, "A_SalesOrder", order_payload(customer))
    everything = await s4.query(SO, "A_SalesOrder", orderby="LastChangeDateTime desc", top=1)
    watermark = everything[0].properties["LastChangeDateTime"]
    assert (
        await s4.query(
            SO, "A_SalesOrder", filter=f"LastChangeDateTime gt {odata_literal(watermark)}"
        )
        == []
    )
    second = await s4.get(SO, "A_SalesOrder", "2")
    await s4.update(SO, "A_SalesOrder", "2", {"PurchaseOrderByCustomer": "PO-9"}, etag=second.etag)
    changed = await s4.query(
        SO, "A_SalesOrder", filter=f"LastChangeDateTime gt {odata_literal(watermark)}"
    )
    assert [c.properties["SalesOrder"] for c in changed] == ["2"]


@pytest.fixture
def live_pair(serve: Callable[[FastAPI], str]) -> tuple[str, str, Receiver]:
    """The sandbox and a webhook receiver, each under uvicorn with lifespan (the event pump)."""
    receiver = Receiver()
    hook = serve(receiver.app) + "/hook"
    return serve(create_app()), hook, receiver


@pytest.mark.slow
def test_events_reach_a_webhook_over_real_http(
    live_pair: tuple[str, str, Receiver], partner_payload
) -> None:
    """Under uvicorn the background pump delivers events to a registered webhook by itself."""
    base, hook, receiver = live_pair
    with httpx.Client(base_url=base, auth=("LEDGERBRIDGE", "sandbox-secret")) as client:
        client.post("/sandbox/events/subscriptions", json={"url": hook}).raise_for_status()
        fetched = client.get(
            "/sap/opu/odata/sap/API_BUSINESS_PARTNER/", headers={"X-CSRF-Token": "Fetch"}
        )
        created = client.post(
            "/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner",
            json=partner_payload(),
            headers={"X-CSRF-Token": fetched.headers["X-CSRF-Token"], "Accept": "application/json"},
        )
        assert created.status_code == 201
    deadline = time.monotonic() + 10
    while not receiver.events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e["type"] for e in receiver.events] == [
        "sap.s4.beh.businesspartner.v1.BusinessPartner.Created.v1"
    ]
