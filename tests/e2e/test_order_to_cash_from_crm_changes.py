"""Order-to-cash started and cancelled by the CRM's Order changes (Change Data Capture).

The embedded house runs its workers and the crm-orders bridge; the test only writes to the
CRM sandbox and plays the ERP's part, and reads the Process layer only to see the case.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ledgerbridge.apis.process.order_to_cash.crm_changes import CONSUMER
from tests.e2e.test_saga_order_to_cash import (
    HAPPY_PATH,
    O2C,
    Saga,
    _crm_order,
    _deliver_bill_and_pay,
    _events_of,
    _wait_for,
    open_saga,
)


@pytest.fixture
async def saga(tmp_path: Path) -> AsyncIterator[Saga]:
    """The house following the CRM's Order changes."""
    async with open_saga(tmp_path, crm_changes=True) as opened:
        yield opened


async def _started(saga: Saga, order_id: str, state: str) -> dict[str, Any]:
    """The case the CRM's activation opened, once it reached ``state``."""
    try:
        async with asyncio.timeout(15):
            status = 404
            while status == 404:
                await asyncio.sleep(0.05)
                status = (await saga.http.get(f"{O2C}/orders/{order_id}")).status_code
    except TimeoutError:
        raise AssertionError(f"no case was opened for {order_id}") from None
    return await _wait_for(saga, order_id, state)


async def _store_rows(saga: Saga, query: str, **params: str) -> list[Any]:
    engine = create_async_engine(saga.store_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.text(query), params))
    finally:
        await engine.dispose()


async def _handled(saga: Saga, count: int) -> None:
    """Wait until the consumer has handled ``count`` CRM order changes (its inbox rows)."""
    query = "SELECT message_id FROM inbox WHERE consumer LIKE :consumer"
    try:
        async with asyncio.timeout(15):
            seen = 0
            while seen < count:
                await asyncio.sleep(0.05)
                seen = len(await _store_rows(saga, query, consumer=CONSUMER))
    except TimeoutError:
        raise AssertionError(f"fewer than {count} crm order changes were handled") from None


async def test_an_order_activated_in_the_crm_closes_once_billed_and_paid(saga: Saga) -> None:
    """Activating the order in the CRM is all it takes to start; the ERP's billing and the
    payment close it."""
    ids = await _crm_order(saga)

    case = await _started(saga, ids["order"], "erp_order_created")
    document = await _deliver_bill_and_pay(saga, case)

    closed = await _wait_for(saga, ids["order"], "closed")
    assert [t["state"] for t in closed["timeline"]] == HAPPY_PATH
    assert closed["invoice_erp_number"] == document
    assert await _events_of(saga, case["case_id"]) == [
        "order.accepted",
        "invoice.issued",
        "payment.received",
        "order.closed",
    ]
    (published,) = await _store_rows(
        saga, "SELECT topic FROM outbox WHERE key = :key", key=ids["order"]
    )
    assert published.topic == "crm.order.activated"


async def test_an_activation_delivered_twice_starts_one_case_and_one_erp_order(
    saga: Saga,
) -> None:
    """The same activation published again, and the order activated a second time, change
    nothing: one case, one ERP sales order."""
    ids = await _crm_order(saga)
    case = await _started(saga, ids["order"], "erp_order_created")
    await _handled(saga, 1)

    # The same message once more: the relay publishes its outbox row again.
    (row,) = await _store_rows(
        saga, "SELECT message_id FROM outbox WHERE key = :key", key=ids["order"]
    )
    engine = create_async_engine(saga.store_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE outbox SET sent_at = NULL WHERE message_id = :id"),
                {"id": row.message_id},
            )
    finally:
        await engine.dispose()
    # And a second activation of the order in the CRM: a new event for the same order.
    await saga.crm.update("Order", ids["order"], {"Status": "Draft"})
    await saga.crm.update("Order", ids["order"], {"Status": "Activated"})
    await _handled(saga, 2)

    again = (await saga.http.get(f"{O2C}/orders/{ids['order']}")).json()
    assert again["case_id"] == case["case_id"]
    assert again["timeline"] == case["timeline"]
    cases = (await saga.http.get(f"{O2C}/orders")).json()["items"]
    assert [c["crm_order_id"] for c in cases] == [ids["order"]]
    found = await saga.erp.query(
        "API_SALES_ORDER_SRV", "A_SalesOrder", filter=f"PurchaseOrderByCustomer eq '{ids['order']}'"
    )
    assert len(found) == 1
    sent = await _store_rows(
        saga, "SELECT sent_at FROM outbox WHERE message_id = :id", id=row.message_id
    )
    assert sent[0].sent_at is not None


async def test_an_order_cancelled_in_the_crm_after_invoicing_is_compensated(saga: Saga) -> None:
    """Cancelling an invoiced order in the CRM cancels its invoice in the ERP, then the case."""
    ids = await _crm_order(saga)
    case = await _started(saga, ids["order"], "erp_order_created")
    number = case["erp_order_number"]
    assert (await saga.erp_admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")).is_success
    assert (await saga.erp_admin.post("/sandbox/admin/billing-run")).is_success
    invoiced = await _wait_for(saga, ids["order"], "invoice_sent")

    await saga.crm.update("Order", ids["order"], {"Status": "Cancelled"})

    cancelled = await _wait_for(saga, ids["order"], "cancelled")
    assert cancelled["status"] == "cancelled"
    assert [s["name"] for s in cancelled["steps"]][-2:] == ["cancel-invoice", "cancel-erp-order"]
    document = await saga.erp.get(
        "API_BILLING_DOCUMENT_SRV", "A_BillingDocument", invoiced["invoice_erp_number"]
    )
    assert document.properties["BillingDocumentIsCancelled"] is True
    assert (await _events_of(saga, case["case_id"]))[-1] == "order.cancelled"
    # A late repeat of the activation finds the order cancelled in the CRM: nothing moves.
    await saga.crm.update("Order", ids["order"], {"Status": "Activated"})
    await _handled(saga, 3)
    assert (await saga.http.get(f"{O2C}/orders/{ids['order']}")).json() == cancelled


async def test_an_activation_whose_step_fails_is_handled_once_and_left_to_the_case(
    tmp_path: Path,
) -> None:
    """The ERP's customer service down when the activation arrives: the case opens and keeps
    the failed step, and the message is handled while the ERP is still down (not delivered
    again and again until it is dead-lettered). The case resumes once the ERP is back."""
    # The advancer waits a minute before it runs a failed step again: here only the message
    # could move the case while the ERP is down.
    async with open_saga(tmp_path, crm_changes=True, retry_after=60, erp_retry_timeout=0.5) as saga:
        partners = "/sap/opu/odata/sap/API_BUSINESS_PARTNER*"
        down = {"rules": [{"route": partners, "error_rates": {"503": 1.0}}]}
        assert (await saga.erp_admin.put("/sandbox/admin/faults", json=down)).is_success
        ids = await _crm_order(saga)

        await _handled(saga, 1)
        failed = await _store_rows(saga, "SELECT outcome FROM o2c_step WHERE name = 'failed'")
        assert [row.outcome for row in failed] == ["retry"]
        case = (await saga.http.get(f"{O2C}/orders/{ids['order']}")).json()
        assert case["state"] == "validated"

        assert (await saga.erp_admin.delete("/sandbox/admin/faults")).is_success
        resumed = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": ids["order"]})
        assert resumed.is_success, resumed.text
        assert resumed.json()["state"] == "erp_order_created"
        assert await _store_rows(saga, "SELECT 1 FROM dead_letter") == []
