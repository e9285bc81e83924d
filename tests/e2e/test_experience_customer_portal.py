"""customer-portal v1: the signed-in customer's own orders, invoices, payments and live
status, and never another customer's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ledgerbridge.demo.servers import serving
from tests.browser.world import World, open_world

BASE = "/experience/customer-portal/v1"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Both sandboxes and the house in front of them."""
    async with open_world(tmp_path) as opened:
        yield opened


def _as(customer_crm_id: str) -> dict[str, str]:
    return {"X-Customer-Id": customer_crm_id}


async def test_a_customer_lists_only_their_own_orders(world: World) -> None:
    """Each of two customers sees exactly their own order in GET /orders."""
    first, second = await world.customer("First Bank"), await world.customer("Second Bank")
    mine = await world.crm_order(first)
    theirs = await world.crm_order(second)
    for order_id in (mine, theirs):
        await world.start_order(order_id)

    listed = await world.api.get(f"{BASE}/orders", headers=_as(first.crm_id))

    assert listed.status_code == 200, listed.text
    assert [item["order_id"] for item in listed.json()["items"]] == [mine]
    assert listed.json()["items"][0]["label"] == "Order confirmed"


async def test_another_customers_order_is_not_found_everywhere(world: World) -> None:
    """Status and events of another customer's order are 404, as for an order that does not
    exist; the owner gets 200."""
    owner, other = await world.customer(), await world.customer("Other Bank")
    order_id = await world.crm_order(owner)
    await world.start_order(order_id)

    status = await world.api.get(f"{BASE}/orders/{order_id}/status", headers=_as(other.crm_id))
    events = await world.api.get(f"{BASE}/orders/{order_id}/events", headers=_as(other.crm_id))
    own = await world.api.get(f"{BASE}/orders/{order_id}/status", headers=_as(owner.crm_id))

    assert status.status_code == 404
    assert events.status_code == 404
    assert own.status_code == 200


async def test_the_customer_header_is_required_for_the_own_lists(world: World) -> None:
    """GET /orders, /invoices and /payments without X-Customer-Id are 422 naming it."""
    for path in ("/orders", "/invoices", "/payments"):
        answer = await world.api.get(f"{BASE}{path}")
        assert answer.status_code == 422, path
        assert "x-customer-id" in answer.text.lower()


async def test_invoices_and_payments_are_the_customers_own(world: World) -> None:
    """An invoice of the customer is listed for them and not for another customer."""
    owner, other = await world.customer(), await world.customer("Other Bank")
    number = await world.invoice(owner, price="80.00")

    own = (await world.api.get(f"{BASE}/invoices", headers=_as(owner.crm_id))).json()
    foreign = (await world.api.get(f"{BASE}/invoices", headers=_as(other.crm_id))).json()
    payments = await world.api.get(f"{BASE}/payments", headers=_as(owner.crm_id))

    assert [invoice["number"] for invoice in own["items"]] == [number]
    assert foreign["items"] == []
    assert payments.json()["items"] == []


async def test_order_events_stream_every_step_until_closed(world: World) -> None:
    """Over real HTTP, the event stream sends the steps so far, then each new one as the ERP
    delivers, bills and is paid, and ends after closed."""
    customer = await world.customer()
    order_id = await world.crm_order(customer)
    case = await world.start_order(order_id)
    states: list[str] = []
    async with (
        serving(world.house.app) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
        http.stream(
            "GET", f"{BASE}/orders/{order_id}/events", headers=_as(customer.crm_id)
        ) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "status":
                states.append(json.loads(line.removeprefix("data: "))["state"])
                if states[-1] == "erp_order_created":
                    await world.deliver_bill_and_pay(case)
            elif line.startswith("data: ") and event == "end":
                break

    assert states[0] == "captured"
    assert states[-1] == "closed"
    assert states.index("erp_order_created") < states.index("paid")


async def test_own_orders_page_by_cursor(world: World) -> None:
    """Two orders at one per page: newest first, then the other, then no next cursor; a
    cursor that is not ours is a 422."""
    customer = await world.customer()
    older, newer = await world.crm_order(customer), await world.crm_order(customer)
    for order_id in (older, newer):
        await world.start_order(order_id)

    first = (await world.api.get(f"{BASE}/orders?limit=1", headers=_as(customer.crm_id))).json()
    second = (
        await world.api.get(
            f"{BASE}/orders",
            params={"limit": 1, "cursor": first["next_cursor"]},
            headers=_as(customer.crm_id),
        )
    ).json()
    forged = await world.api.get(
        f"{BASE}/orders", params={"cursor": "eyJvZmZzZXQiOi0xfQ"}, headers=_as(customer.crm_id)
    )

    assert [item["order_id"] for item in first["items"] + second["items"]] == [newer, older]
    assert second.get("next_cursor") is None
    assert forged.status_code == 422
