"""service-console: the customer 360 over the two sandboxes, whole and with the ERP down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.browser.world import World, open_world

BASE = "/experience/service-console/v1"
ERP_PARTS = ("credit", "open_invoices", "open_receivables", "recent_payments")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Both sandboxes and the house in front of them."""
    async with open_world(tmp_path) as opened:
        yield opened


async def test_360_gathers_crm_and_erp_in_one_call(world: World) -> None:
    """The 360 carries the profile, open cases only, credit, and the open invoice, all ok."""
    customer = await world.customer()
    await world.case(customer, "Statement missing")
    await world.case(customer, "Old question", status="Closed")
    await world.credit_limit(customer, "5000.00")
    invoice = await world.invoice(customer, price="100.00")
    order_id = await world.crm_order(customer)
    await world.start_order(order_id)

    answer = await world.api.get(f"{BASE}/customers/{customer.crm_id}")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["complete"] is True
    assert {name: s["state"] for name, s in body["sources"].items()} == dict.fromkeys(
        ("profile", "open_cases", "open_orders", *ERP_PARTS), "ok"
    )
    assert body["customer_erp_id"] == customer.erp_id
    assert body["profile"]["name"] == "Meridian Capital"
    assert [case["subject"] for case in body["open_cases"]] == ["Statement missing"]
    assert Decimal(body["credit"]["limit"]["amount"]) == Decimal("5000.00")
    assert [inv["erp_number"] for inv in body["open_invoices"]] == [invoice]
    assert [(o["order_id"], o["status"]) for o in body["open_orders"]] == [(order_id, "in_erp")]
    assert {item["invoice_erp_number"] for item in body["open_receivables"]} == {invoice}
    assert {entry["kind"] for entry in body["timeline"]} == {"case-opened", "invoice"}


async def test_360_is_partial_with_markers_when_the_erp_is_down(world: World) -> None:
    """With the ERP sandbox stopped, the CRM parts still come, each ERP part is null and
    marked unavailable with a reason, and the answer is 200."""
    customer = await world.customer()
    await world.case(customer, "Where is my invoice?")
    await world.stop_erp()

    answer = await world.api.get(f"{BASE}/customers/{customer.crm_id}")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["complete"] is False
    assert body["profile"]["crm_id"] == customer.crm_id
    assert [case["subject"] for case in body["open_cases"]] == ["Where is my invoice?"]
    for part in ERP_PARTS:
        assert body[part] is None
        assert body["sources"][part]["state"] == "unavailable"
        assert body["sources"][part]["detail"]
    assert body["sources"]["profile"]["state"] == "ok"
    assert body["sources"]["open_orders"]["state"] == "ok"


async def test_360_skips_erp_parts_for_a_customer_not_yet_in_the_erp(world: World) -> None:
    """An account with no ERP id gets its CRM parts and the ERP parts marked skipped."""
    account = await world.crm.create("Account", {"Name": "Fresh Prospect Ltd"})

    body = (await world.api.get(f"{BASE}/customers/{account}")).json()

    assert body["customer_erp_id"] is None
    assert body["open_cases"] == []
    assert {body["sources"][part]["state"] for part in ERP_PARTS} == {"skipped"}


async def test_360_of_an_unknown_customer_is_404(world: World) -> None:
    """A CRM id that names no account is a 404 problem, not an empty 360."""
    answer = await world.api.get(f"{BASE}/customers/001000000000000AAA")

    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
