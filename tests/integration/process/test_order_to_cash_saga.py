"""The order-to-cash saga against both sandboxes: observations, outages, failures, KPIs."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from tests.integration.process.conftest import O2C, Saga

from ledgerbridge.apis.process.order_to_cash import store
from ledgerbridge.apis.process.order_to_cash.advancer import CHECKPOINT, CaseAdvancer, observe
from ledgerbridge.apis.process.order_to_cash.states import CaseState
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.canonical import InvoiceStatus
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.runtime.messaging import outbox
from ledgerbridge.runtime.store import save_checkpoint

HAPPY_PATH = [
    "captured",
    "validated",
    "customer_synced",
    "credit_checked",
    "erp_order_created",
    "fulfilled",
    "invoiced",
    "invoice_sent",
    "paid",
    "closed",
]


async def _start(saga: Saga, order_id: str) -> dict[str, Any]:
    response = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": order_id})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _events(saga: Saga, case_id: str) -> list[str]:
    async with saga.deps.store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.topic).where(outbox.c.key == case_id).order_by(outbox.c.seq)
        )
        return [row.topic for row in rows]


async def test_a_paid_invoice_seen_at_once_walks_every_state_once(saga: Saga) -> None:
    """An order billed and paid before the advancer looks passes each state once, in order."""
    ids = await saga.order()
    case = await _start(saga, ids["order"])
    await saga.bill_and_pay(case)

    advancer = saga.advancer()
    assert await advancer.tick() == 5
    assert await advancer.tick() == 0

    closed = await saga.case(ids["order"])
    assert [t["state"] for t in closed["timeline"]] == HAPPY_PATH
    assert await _events(saga, closed["case_id"]) == [
        "order.accepted",
        "invoice.issued",
        "payment.received",
        "order.closed",
    ]


async def test_stale_and_repeated_observations_change_nothing(saga: Saga) -> None:
    """Once closed, the invoice seen again (or as it was, still open) moves nothing."""
    ids = await saga.order()
    case = await _start(saga, ids["order"])
    await saga.bill_and_pay(case)
    await saga.advancer().tick()
    closed = await saga.case(ids["order"])

    invoice = await ErpBillingDocumentsClient(saga.http).get_invoice(closed["invoice_erp_number"])
    async with saga.deps.store.engine.connect() as conn:
        ref = await store.load_ref(conn, closed["case_id"])
    assert ref is not None
    assert await observe(saga.deps, ref, invoice=invoice) == 0
    unpaid = invoice.model_copy(update={"status": InvoiceStatus.OPEN})
    assert await observe(saga.deps, ref, invoice=unpaid) == 0
    assert await saga.case(ids["order"]) == closed


async def test_concurrent_advancers_make_each_move_once(saga: Saga) -> None:
    """Four advancers racing over the same cases record each state and event once per case."""
    orders = [await saga.order() for _ in range(3)]
    for ids in orders:
        await saga.bill_and_pay(await _start(saga, ids["order"]))

    await asyncio.gather(*(saga.advancer().tick() for _ in range(4)))
    await saga.advancer().tick()

    for ids in orders:
        case = await saga.case(ids["order"])
        assert [t["state"] for t in case["timeline"]] == HAPPY_PATH
        assert Counter(await _events(saga, case["case_id"])) == Counter(
            ["order.accepted", "invoice.issued", "payment.received", "order.closed"]
        )


async def test_an_erp_outage_at_the_start_waits_and_resumes_without_a_second_order(
    saga: Saga,
) -> None:
    """Sales orders unavailable: the case waits where it stood, then goes on with one order."""
    ids = await saga.order()
    plan = {
        "seed": 1,
        "rules": [
            {"route": "/sap/opu/odata/sap/API_SALES_ORDER_SRV/*", "error_rates": {"503": 1.0}}
        ],
    }
    assert (await saga.erp_admin.put("/sandbox/admin/faults", json=plan)).is_success

    response = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": ids["order"]})
    assert response.status_code >= 500, response.text
    waiting = await saga.case(ids["order"])
    assert (waiting["state"], waiting["status"]) == ("customer_synced", "failed")
    assert waiting["steps"][-1]["outcome"] == "retry"

    await saga.advancer().tick()
    assert (await saga.case(ids["order"]))["state"] == "customer_synced"

    assert (await saga.erp_admin.delete("/sandbox/admin/faults")).is_success
    await saga.advancer().tick()
    resumed = await saga.case(ids["order"])
    assert (resumed["state"], resumed["status"]) == ("erp_order_created", "in_erp")
    found = await saga.erp.query(
        "API_SALES_ORDER_SRV", "A_SalesOrder", filter=f"PurchaseOrderByCustomer eq '{ids['order']}'"
    )
    assert len(found) == 1


async def test_an_order_billed_before_its_start_is_done_waits_for_its_link_and_decision(
    saga: Saga,
) -> None:
    """The ERP delivers, bills and is paid for a sales order whose case could not yet link it
    in the CRM: the invoice seen meanwhile moves nothing, and once the CRM answers the start
    links the order, takes the credit decision and the case walks on to closed."""
    other = await saga.order()
    await _start(saga, other["order"])  # a case waiting on the ERP: the advancer reads invoices
    ids = await saga.order()
    no_link = {
        "seed": 1,
        "rules": [
            {
                "route": "/services/data/*/sobjects/Order/*",
                "methods": ["PATCH"],
                "error_rates": {"503": 1.0},
            }
        ],
    }
    assert (await saga.crm_admin.put("/sandbox/admin/faults", json=no_link)).is_success
    response = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": ids["order"]})
    assert response.status_code >= 500, response.text
    waiting = await saga.case(ids["order"])
    assert waiting["state"] == "customer_synced"
    assert waiting["erp_order_number"] is not None
    await saga.bill_and_pay(waiting)

    advancer = saga.advancer()
    await advancer.tick()
    assert (await saga.case(ids["order"]))["state"] == "customer_synced"

    assert (await saga.crm_admin.delete("/sandbox/admin/faults")).is_success
    await advancer.tick()
    await advancer.tick()
    closed = await saga.case(ids["order"])
    assert [t["state"] for t in closed["timeline"]] == HAPPY_PATH
    assert closed["timeline"][3]["detail"].startswith("credit approved")
    order = await saga.crm.get("Order", ids["order"], ["ERP_Order_Number__c"])
    assert order.fields["ERP_Order_Number__c"] == closed["erp_order_number"]
    assert await _events(saga, closed["case_id"]) == [
        "order.accepted",
        "invoice.issued",
        "payment.received",
        "order.closed",
    ]


async def test_an_approved_referral_the_erp_billed_meanwhile_is_accepted_then_closed(
    saga: Saga,
) -> None:
    """The ERP let a referred order through and delivered, billed and was paid for it before
    the reviewer approved: one round walks the case on to closed, accepting the order on the
    way, each move and event once."""
    ids = await saga.order(quantity=2)
    await saga.credit_limit(ids["account"], "320.00")  # credit-verification refers 300.00
    case = await _start(saga, ids["order"])
    assert case["state"] == "referred"
    advancer = saga.advancer()
    await advancer.tick()  # its checkpoint: the next round's delta read sees the invoice
    await saga.bill_and_pay(case)
    (item,) = (await saga.http.get(f"{O2C}/reviews")).json()["items"]
    approval = f"{O2C}/reviews/{item['review_id']}/approval"
    assert (await saga.http.post(approval, json={"actor": "credit-desk"})).is_success

    await advancer.tick()
    closed = await saga.case(ids["order"])
    states = [t["state"] for t in closed["timeline"]]
    assert states == [*HAPPY_PATH[:3], "referred", *HAPPY_PATH[3:]]
    accepted = closed["timeline"][states.index("erp_order_created")]
    assert accepted["detail"] == "credit block released"
    assert await _events(saga, closed["case_id"]) == [
        "credit.referred",
        "order.accepted",
        "invoice.issued",
        "payment.received",
        "order.closed",
    ]


async def test_a_lasting_failure_is_queued_and_retried_once_fixed(saga: Saga) -> None:
    """A product missing in the ERP fails the case into the queue; retry after the fix works."""
    ids = await saga.order(product_in_erp=False)
    response = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": ids["order"]})
    assert response.status_code == 422, response.text
    failed = await saga.case(ids["order"])
    assert (failed["state"], failed["status"]) == ("failed", "failed")

    (item,) = (await saga.http.get(f"{O2C}/reviews")).json()["items"]
    assert (item["kind"], item["actions"]) == ("failure", ["retry", "reject"])
    assert item["figures"]["failed_after"] == "customer_synced"

    await saga.erp.create("API_PRODUCT_SRV", "A_Product", s4_product(ids["sku"], "Custody"))
    retried = await saga.http.post(
        f"{O2C}/reviews/{item['review_id']}/retry", json={"actor": "ops"}
    )
    assert retried.json()["status"] == "retried"
    case = await saga.case(ids["order"])
    assert case["state"] == "erp_order_created"
    assert [t["state"] for t in case["timeline"]] == [
        "captured",
        "validated",
        "customer_synced",
        "failed",
        "customer_synced",
        "credit_checked",
        "erp_order_created",
    ]


async def test_kpis_count_straight_through_cases(saga: Saga) -> None:
    """Two clean orders closed: STP 100%, no manual intervention, cycle times measured."""
    for _ in range(2):
        ids = await saga.order()
        await saga.bill_and_pay(await _start(saga, ids["order"]))
    await saga.advancer().tick()

    kpis = (await saga.http.get(f"{O2C}/kpis")).json()
    assert (kpis["cases"], kpis["closed_cases"], kpis["open_cases"]) == (2, 2, 0)
    assert kpis["straight_through_rate"] == 1.0
    assert kpis["manual_intervention_rate"] == 0.0
    assert kpis["cycle_time"]["count"] == 2
    assert kpis["cycle_time"]["median"] > 0
    assert kpis["credit_decision_time"]["count"] == 2
    assert kpis["by_state"] == {"closed": 2}


async def test_cases_list_by_state(saga: Saga) -> None:
    """The case list filters by state and pages newest first."""
    started = [await _start(saga, (await saga.order())["order"]) for _ in range(3)]
    page = (
        await saga.http.get(f"{O2C}/orders", params={"state": "erp_order_created", "limit": 2})
    ).json()
    assert [c["case_id"] for c in page["items"]] == [c["case_id"] for c in started[::-1][:2]]
    rest = (
        await saga.http.get(
            f"{O2C}/orders", params={"state": "erp_order_created", "cursor": page["next_cursor"]}
        )
    ).json()
    assert [c["case_id"] for c in rest["items"]] == [started[0]["case_id"]]
    assert (await saga.http.get(f"{O2C}/orders", params={"state": "closed"})).json()["items"] == []


async def test_cancelling_an_invoiced_order_cancels_its_invoice_first(saga: Saga) -> None:
    """An invoiced, unpaid order cancelled: the ERP invoice is cancelled, then the case ends."""
    ids = await saga.order()
    case = await _start(saga, ids["order"])
    number = case["erp_order_number"]
    assert (await saga.erp_admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")).is_success
    assert (await saga.erp_admin.post("/sandbox/admin/billing-run")).is_success
    await saga.advancer().tick()
    invoiced = await saga.case(ids["order"])
    assert invoiced["state"] == "invoice_sent"

    url = f"{O2C}/orders/{ids['order']}/cancellation"
    body = {"actor": "sales-desk", "reason": "customer withdrew"}
    response = await saga.http.post(url, json=body)
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["state"], cancelled["status"]) == ("cancelled", "cancelled")
    assert [s["name"] for s in cancelled["steps"]][-2:] == ["cancel-invoice", "cancel-erp-order"]
    document = await saga.erp.get(
        "API_BILLING_DOCUMENT_SRV", "A_BillingDocument", invoiced["invoice_erp_number"]
    )
    assert document.properties["BillingDocumentIsCancelled"] is True
    assert (await _events(saga, case["case_id"]))[-1] == "order.cancelled"

    again = await saga.http.post(url, json=body)
    assert again.json() == cancelled


async def test_a_paid_order_cannot_be_cancelled(saga: Saga) -> None:
    """Once paid, cancellation is a 409 and the case stays closed."""
    ids = await saga.order()
    await saga.bill_and_pay(await _start(saga, ids["order"]))
    await saga.advancer().tick()
    response = await saga.http.post(
        f"{O2C}/orders/{ids['order']}/cancellation", json={"actor": "sales-desk"}
    )
    assert response.status_code == 409
    assert (await saga.case(ids["order"]))["state"] == "closed"


async def test_an_order_past_its_fulfilment_sla_is_queued_once(saga: Saga) -> None:
    """Not completed within the SLA: one timeout item; rejecting it cancels the order."""
    ids = await saga.order()
    case = await _start(saga, ids["order"])
    late = CaseAdvancer(saga.deps, fulfilment_sla=timedelta(0))
    await late.tick()
    await late.tick()

    (item,) = (await saga.http.get(f"{O2C}/reviews")).json()["items"]
    assert (item["kind"], item["case_id"], item["actions"]) == (
        "timeout",
        case["case_id"],
        ["approve", "reject"],
    )
    assert item["figures"]["state"] == "erp_order_created"

    rejected = await saga.http.post(
        f"{O2C}/reviews/{item['review_id']}/rejection", json={"actor": "ops", "note": "stuck"}
    )
    assert rejected.json()["status"] == "rejected"
    ended = await saga.case(ids["order"])
    assert (ended["state"], ended["timeline"][-1]["detail"]) == (
        "cancelled",
        "cancelled by ops: stuck",
    )
    await late.tick()
    assert (await saga.http.get(f"{O2C}/reviews")).json()["items"] == []


async def test_each_round_polls_the_next_batch_so_no_case_starves(saga: Saga) -> None:
    """With room for one case a round, two released referrals are accepted in two rounds."""
    cases = []
    for _ in range(2):
        ids = await saga.order(quantity=4)
        await saga.credit_limit(ids["account"], "100.00")
        cases.append(await _start(saga, ids["order"]))
    for case in cases:
        assert case["state"] == "referred"
        await saga.erp.call(
            "API_SALES_ORDER_SRV", "releaseCreditBlock", {"SalesOrder": case["erp_order_number"]}
        )

    advancer = CaseAdvancer(saga.deps, batch_size=1)
    await advancer.tick()
    states = sorted([(await saga.case(c["crm_order_id"]))["state"] for c in cases])
    assert states == ["erp_order_created", "referred"]
    await advancer.tick()
    states = sorted([(await saga.case(c["crm_order_id"]))["state"] for c in cases])
    assert states == ["erp_order_created", "erp_order_created"]
    approved = await saga.http.get(f"{O2C}/reviews", params={"status": "approved"})
    assert [i["resolved_by"] for i in approved.json()["items"]] == ["erp", "erp"]


async def test_a_case_left_fulfilled_by_a_crash_finds_its_invoice_on_the_sweep(
    saga: Saga,
) -> None:
    """A worker killed between the moves into fulfilled and invoiced leaves the case without
    its invoice number, and later rounds' delta reads start past the invoice's change: the
    sweep looks the invoice up by the order and the case closes."""
    ids = await saga.order()
    case = await _start(saga, ids["order"])
    await saga.bill_and_pay(case)
    async with saga.deps.store.engine.begin() as conn:
        assert await store.move(
            conn,
            case["case_id"],
            expected=[CaseState.ERP_ORDER_CREATED],
            to=CaseState.FULFILLED,
            detail="the ERP completed the order",
        )
        later = datetime.now(UTC) + timedelta(seconds=60)
        await save_checkpoint(conn, CHECKPOINT, int(later.timestamp() * 1000))

    await saga.advancer().tick()

    closed = await saga.case(ids["order"])
    assert closed["state"] == "closed"
    assert [t["state"] for t in closed["timeline"]] == HAPPY_PATH
