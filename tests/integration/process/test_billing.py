"""Billing against both sandboxes over HTTP, on SQLite and PostgreSQL: ERP invoices onto
the CRM orders they bill, once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from tests.integration.process.conftest import Saga
from tests.integration.process.test_billing_house import Customer, house

from ledgerbridge.runtime.messaging import outbox

__all__ = ["house"]
BILLING = "/process/billing/v1"


async def _run(house: Saga, body: dict[str, str] | None = None) -> dict[str, Any]:
    response = await house.http.post(f"{BILLING}/runs", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _billed_events(house: Saga) -> list[str]:
    async with house.deps.store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.body).where(outbox.c.topic == "invoice.billed")
        )
        return [row.body for row in rows]


async def _crm_order(house: Saga, order_id: str) -> dict[str, Any]:
    (order,) = await house.crm.query(
        f"SELECT Invoice_Status__c, SystemModstamp FROM Order WHERE Id = '{order_id}'"  # noqa: S608
    )
    return dict(order.fields)


async def test_a_run_brings_each_invoice_onto_its_crm_order_once(house: Saga) -> None:
    """The first run over the checkpoint brings every billed invoice to its CRM order with
    number, amount, due date and status; the second run reads from the checkpoint and writes
    nothing; both runs are listed."""
    customer = await Customer.create(house)
    first, second = await customer.billed_order("100.00"), await customer.billed_order("40.00")

    run = await _run(house)
    assert run["checkpointed"] is True
    assert run["synced"] == 2
    assert {(i["invoice_erp_number"], i["crm_order_id"]) for i in run["invoices"]} == {
        (first["invoice"], first["order"]),
        (second["invoice"], second["order"]),
    }
    shown = (await house.http.get(f"{BILLING}/invoices/{first['invoice']}")).json()
    assert shown["crm_order_id"] == first["order"]
    assert shown["erp_order_number"] == first["erp_order"]
    assert Decimal(shown["amount"]["amount"]) == Decimal(first["gross"])
    assert shown["amount"]["currency"] == "EUR"
    assert shown["due_date"] is not None
    assert shown["crm_invoice_status"] == "Invoiced"
    assert len(await _billed_events(house)) == 2
    before = await _crm_order(house, first["order"])
    assert before["Invoice_Status__c"] == "Invoiced"

    again = await _run(house)
    assert again["synced"] == 0
    assert again["changed_since"] is not None
    assert len(await _billed_events(house)) == 2
    assert await _crm_order(house, first["order"]) == before
    listed = (await house.http.get(f"{BILLING}/runs")).json()["items"]
    assert [r["run_id"] for r in listed] == [again["run_id"], run["run_id"]]


async def test_one_invoice_synced_twice_is_written_once(house: Saga) -> None:
    """Syncing one invoice again, or over a time window that includes it, changes nothing."""
    customer = await Customer.create(house)
    billed = await customer.billed_order("75.00")

    one = await _run(house, {"invoice_erp_number": billed["invoice"]})
    assert one["synced"] == 1
    assert one["checkpointed"] is False
    repeat = await _run(house, {"invoice_erp_number": billed["invoice"]})
    assert (repeat["synced"], repeat["unchanged"]) == (0, 1)
    window = await _run(house, {"changed_since": "2000-01-01T00:00:00Z"})
    assert window["synced"] == 0
    assert len(await _billed_events(house)) == 1
    run = (await house.http.get(f"{BILLING}/runs/{one['run_id']}")).json()
    assert run["invoices"] == [
        {
            "invoice_erp_number": billed["invoice"],
            "crm_order_id": billed["order"],
            "outcome": "synced",
        }
    ]


async def test_bad_input_is_a_problem_naming_the_field(house: Saga) -> None:
    """A malformed invoice number, a time without a zone or an unknown field is a 422
    problem naming the field; nothing is recorded."""
    cases = [
        ({"invoice_erp_number": "not a number!"}, "invoice_erp_number"),
        ({"changed_since": "2026-11-24T10:00:00"}, "changed_since"),
        ({"since": "yesterday"}, "since"),
    ]
    for body, field in cases:
        response = await house.http.post(f"{BILLING}/runs", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    missing = await house.http.get(f"{BILLING}/invoices/90009999")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "invoice_erp_number"
    assert (await house.http.get(f"{BILLING}/runs")).json()["items"] == []
