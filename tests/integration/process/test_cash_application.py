"""Cash application against both sandboxes over HTTP, on SQLite and PostgreSQL: payments
matched to open invoices, cleared in the ERP, and a review queue for the rest."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from tests.integration.process.conftest import Saga
from tests.integration.process.test_billing_house import Customer, house

from ledgerbridge.apis.process.cash_application import store
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.runtime.messaging import outbox

__all__ = ["house"]
CASH = "/process/cash-application/v1"


def _payment(amount: Decimal | str, **fields: Any) -> dict[str, Any]:
    return {
        "payment_reference": f"BANK-{uuid.uuid4().hex[:12].upper()}",
        "amount": {"amount": str(amount), "currency": "EUR"},
        "payment_date": "2026-11-30",
        **fields,
    }


async def _apply(house: Saga, body: dict[str, Any], expected: int = 201) -> dict[str, Any]:
    response = await house.http.post(f"{CASH}/payments", json=body)
    assert response.status_code == expected, response.text
    return dict(response.json())


async def _open_balance(house: Saga, invoice: str) -> Decimal:
    page = await ErpReceivablesClient(house.http).list_receivables(
        invoice_erp_number=invoice, cleared=False
    )
    return sum((item.amount.amount for item in page.items), Decimal(0))


async def _erp_payments(house: Saga, customer: Customer) -> int:
    page = await ErpReceivablesClient(house.http).list_payments(
        customer_erp_id=customer.erp_id, limit=200
    )
    return len(page.items)


async def _applied_events(house: Saga) -> int:
    async with house.deps.store.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(outbox.c.topic == "payment.applied")
        return int((await conn.execute(query)).scalar_one())


async def _payment_status(house: Saga, order_id: str) -> str:
    (order,) = await house.crm.query(
        f"SELECT Payment_Status__c FROM Order WHERE Id = '{order_id}'"  # noqa: S608
    )
    return str(order.fields["Payment_Status__c"])


def _allocations(application: dict[str, Any]) -> list[tuple[str, Decimal, bool, str]]:
    return [
        (a["invoice_erp_number"], Decimal(a["applied"]), a["settled"], a["crm_payment_status"])
        for a in application["allocations"]
    ]


async def test_an_exact_payment_clears_its_invoice_once(house: Saga) -> None:
    """A payment of an invoice's amount quoting its number clears it in the ERP and marks the
    CRM order paid; applying it again answers 200 with the same record and posts nothing."""
    customer = await Customer.create(house)
    billed = await customer.billed_order("100.00")
    body = _payment(
        billed["gross"], customer_erp_id=customer.erp_id, references=[billed["invoice"]]
    )

    applied = await _apply(house, body)
    assert applied["status"] == "applied"
    assert applied["matched_by"] == "reference"
    assert _allocations(applied) == [(billed["invoice"], Decimal(billed["gross"]), True, "Paid")]
    assert applied["allocations"][0]["crm_order_id"] == billed["order"]
    assert applied["allocations"][0]["erp_document"] is not None
    assert Decimal(applied["unapplied"]) == 0
    assert await _open_balance(house, billed["invoice"]) == 0
    assert await _payment_status(house, billed["order"]) == "Paid"

    assert await _apply(house, body, expected=200) == applied
    assert await _erp_payments(house, customer) == 1
    assert await _applied_events(house) == 1


async def test_a_partial_payment_leaves_the_rest_open(house: Saga) -> None:
    """A payment below the invoice's amount, quoting the order, is applied in part: the ERP
    keeps the rest open and the CRM order is partially paid."""
    customer = await Customer.create(house)
    billed = await customer.billed_order("100.00")
    part = Decimal("30.00")

    applied = await _apply(house, _payment(part, references=[billed["order"]]))
    assert applied["customer_erp_id"] == customer.erp_id
    assert _allocations(applied) == [(billed["invoice"], part, False, "Partially Paid")]
    assert await _open_balance(house, billed["invoice"]) == Decimal(billed["gross"]) - part
    assert await _payment_status(house, billed["order"]) == "Partially Paid"


async def test_an_over_payment_clears_the_invoice_and_queues_the_surplus(house: Saga) -> None:
    """Paying more than an invoice clears it; the surplus waits in the review queue with the
    customer's other open invoices, and assigning one applies the surplus to it."""
    customer = await Customer.create(house)
    paid, other = await customer.billed_order("100.00"), await customer.billed_order("80.00")
    surplus = Decimal("10.00")
    body = _payment(
        Decimal(paid["gross"]) + surplus,
        customer_erp_id=customer.erp_id,
        references=[paid["invoice"]],
    )

    applied = await _apply(house, body)
    assert applied["status"] == "in_review"
    assert Decimal(applied["unapplied"]) == surplus
    assert await _open_balance(house, paid["invoice"]) == 0
    review = applied["review"]
    assert review["reason"] == "over_payment"
    assert Decimal(review["amount"]["amount"]) == surplus
    assert [c["invoice_erp_number"] for c in review["candidates"]] == [other["invoice"]]
    queue = (await house.http.get(f"{CASH}/reviews")).json()["items"]
    assert [item["review_id"] for item in queue] == [review["review_id"]]

    resolved = await house.http.post(
        f"{CASH}/reviews/{review['review_id']}/resolution",
        json={"actor": "cash-desk@bank.example", "invoice_erp_numbers": [other["invoice"]]},
    )
    assert resolved.status_code == 200, resolved.text
    after = resolved.json()
    assert after["status"] == "applied"
    assert after["review"] is None
    assert Decimal(after["unapplied"]) == 0
    assert _allocations(after)[1] == (other["invoice"], surplus, False, "Partially Paid")
    assert await _open_balance(house, other["invoice"]) == Decimal(other["gross"]) - surplus
    again = await house.http.post(
        f"{CASH}/reviews/{review['review_id']}/resolution",
        json={"actor": "cash-desk@bank.example", "invoice_erp_numbers": [other["invoice"]]},
    )
    assert again.status_code == 409
    assert (await house.http.get(f"{CASH}/reviews")).json()["items"] == []


async def test_one_payment_pays_several_invoices(house: Saga) -> None:
    """One payment quoting two invoices clears both; one of a customer's whole open balance
    without any reference clears every open invoice (matched by amount)."""
    customer = await Customer.create(house)
    first, second = await customer.billed_order("100.00"), await customer.billed_order("60.00")
    total = Decimal(first["gross"]) + Decimal(second["gross"])

    applied = await _apply(house, _payment(total, references=[second["invoice"], first["invoice"]]))
    assert _allocations(applied) == [
        (second["invoice"], Decimal(second["gross"]), True, "Paid"),
        (first["invoice"], Decimal(first["gross"]), True, "Paid"),
    ]
    assert {a["erp_reference"] for a in applied["allocations"]} == {
        f"{applied['payment_reference']}/1",
        f"{applied['payment_reference']}/2",
    }

    third, fourth = await customer.billed_order("20.00"), await customer.billed_order("30.00")
    rest = Decimal(third["gross"]) + Decimal(fourth["gross"])
    by_amount = await _apply(house, _payment(rest, customer_erp_id=customer.erp_id))
    assert by_amount["matched_by"] == "amount"
    assert {a[0] for a in _allocations(by_amount)} == {third["invoice"], fourth["invoice"]}
    for invoice in (first, second, third, fourth):
        assert await _open_balance(house, invoice["invoice"]) == 0


async def test_a_payment_matched_by_amount_alone(house: Saga) -> None:
    """Without a reference, the one open invoice of exactly the amount is paid."""
    customer = await Customer.create(house)
    await customer.billed_order("100.00")
    target = await customer.billed_order("55.00")

    applied = await _apply(house, _payment(target["gross"], customer_erp_id=customer.erp_id))
    assert applied["matched_by"] == "amount"
    assert _allocations(applied) == [(target["invoice"], Decimal(target["gross"]), True, "Paid")]


async def test_unmatched_payments_are_queued_with_reason_and_candidates(house: Saga) -> None:
    """No usable reference, an amount two invoices share, or an unknown payer each go to the
    queue with the reason and the candidates, and nothing is posted in the ERP."""
    customer = await Customer.create(house)
    twin_a, twin_b = await customer.billed_order("50.00"), await customer.billed_order("50.00")

    ambiguous = await _apply(house, _payment(twin_a["gross"], customer_erp_id=customer.erp_id))
    assert ambiguous["status"] == "in_review"
    assert ambiguous["review"]["reason"] == "ambiguous_amount"
    assert {c["invoice_erp_number"] for c in ambiguous["review"]["candidates"]} == {
        twin_a["invoice"],
        twin_b["invoice"],
    }
    odd = await _apply(
        house, _payment("12.34", customer_erp_id=customer.erp_id, references=["no such thing"])
    )
    assert odd["review"]["reason"] == "no_reference"
    assert len(odd["review"]["candidates"]) == 2
    stranger = await _apply(house, _payment("12.34", references=["INV-UNKNOWN"]))
    assert stranger["review"]["reason"] == "unknown_customer"
    assert stranger["customer_erp_id"] is None
    absent = await _apply(house, _payment("12.34", customer_erp_id="9999999"))
    assert absent["review"]["reason"] == "unknown_customer"
    assert "9999999" in absent["review"]["detail"]
    assert await _erp_payments(house, customer) == 0

    queue = (await house.http.get(f"{CASH}/reviews")).json()["items"]
    assert [item["payment_reference"] for item in queue] == [
        ambiguous["payment_reference"],
        odd["payment_reference"],
        stranger["payment_reference"],
        absent["payment_reference"],
    ]
    resolved = await house.http.post(
        f"{CASH}/reviews/{ambiguous['review']['review_id']}/resolution",
        json={"actor": "cash-desk@bank.example", "invoice_erp_numbers": [twin_b["invoice"]]},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["matched_by"] == "review"
    assert await _open_balance(house, twin_b["invoice"]) == 0
    assert await _open_balance(house, twin_a["invoice"]) == Decimal(twin_a["gross"])
    in_review = (await house.http.get(f"{CASH}/payments", params={"status": "in_review"})).json()
    assert len(in_review["items"]) == 3


async def test_a_payment_cut_short_is_finished_by_applying_it_again(house: Saga) -> None:
    """When the ERP fails while a payment is posted, the payment stays recorded with what is
    left to post; applying it again posts the rest, and a posting whose record was lost is
    found again in the ERP by its reference, never posted twice."""
    customer = await Customer.create(house)
    first, second = await customer.billed_order("100.00"), await customer.billed_order("60.00")
    total = Decimal(first["gross"]) + Decimal(second["gross"])
    body = _payment(total, references=[first["invoice"], second["invoice"]])
    outage = {
        "rules": [{"route": "*IncomingPayment*", "methods": ["POST"], "error_rates": {503: 1}}]
    }
    assert (await house.erp_admin.put("/sandbox/admin/faults", json=outage)).is_success

    failed = await house.http.post(f"{CASH}/payments", json=body)
    assert failed.status_code == 503, failed.text
    recorded = (await house.http.get(f"{CASH}/payments/{body['payment_reference']}")).json()
    assert [a["erp_document"] for a in recorded["allocations"]] == [None, None]
    assert await _erp_payments(house, customer) == 0

    assert (await house.erp_admin.delete("/sandbox/admin/faults")).is_success
    finished = await _apply(house, body, expected=200)
    assert all(a["erp_document"] for a in finished["allocations"])
    assert await _erp_payments(house, customer) == 2

    async with house.deps.store.engine.begin() as conn:
        await conn.execute(
            sa.update(store.allocations)
            .where(
                store.allocations.c.payment_reference == body["payment_reference"],
                store.allocations.c.seq == 2,
            )
            .values(erp_document=None, posted_at=None)
        )
    again = await _apply(house, body, expected=200)
    assert again["allocations"] == finished["allocations"]
    assert await _erp_payments(house, customer) == 2
    assert await _open_balance(house, first["invoice"]) == 0
    assert await _open_balance(house, second["invoice"]) == 0


async def test_a_posting_the_erp_refuses_is_taken_back_and_queued(house: Saga) -> None:
    """When the ERP refuses an allocation for good (here a 400 on posting), its amount is
    taken back and waits for review; assigning an invoice then posts it."""
    customer = await Customer.create(house)
    billed = await customer.billed_order("100.00")
    body = _payment(billed["gross"], references=[billed["invoice"]])
    refuse = {
        "rules": [{"route": "*IncomingPayment*", "methods": ["POST"], "error_rates": {400: 1}}]
    }
    assert (await house.erp_admin.put("/sandbox/admin/faults", json=refuse)).is_success

    queued = await _apply(house, body)
    assert queued["status"] == "in_review"
    assert queued["allocations"] == []
    assert queued["review"]["reason"] == "erp_rejected"
    assert Decimal(queued["review"]["amount"]["amount"]) == Decimal(billed["gross"])
    assert await _erp_payments(house, customer) == 0

    assert (await house.erp_admin.delete("/sandbox/admin/faults")).is_success
    resolved = await house.http.post(
        f"{CASH}/reviews/{queued['review']['review_id']}/resolution",
        json={"actor": "cash-desk@bank.example", "invoice_erp_numbers": [billed["invoice"]]},
    )
    assert resolved.status_code == 200, resolved.text
    assert _allocations(resolved.json()) == [
        (billed["invoice"], Decimal(billed["gross"]), True, "Paid")
    ]
    assert await _open_balance(house, billed["invoice"]) == 0


async def test_bad_input_is_a_problem_naming_the_field(house: Saga) -> None:
    """Malformed payments and decisions are 422 problems naming the field; a reference reused
    with other details is a 409 naming it; nothing is recorded or posted."""
    customer = await Customer.create(house)
    billed = await customer.billed_order("100.00")
    cases = [
        ({**_payment("10.00"), "payment_reference": "has spaces"}, "payment_reference"),
        (_payment("-5.00"), "amount"),
        ({**_payment("10.00"), "amount": {"amount": 10.5, "currency": "EUR"}}, "amount.amount"),
        ({**_payment("10.00"), "payment_date": "30/11/2026"}, "payment_date"),
        (_payment("10.00", references=[""]), "references"),
        (_payment("10.00", customer_erp_id="not/an/id"), "customer_erp_id"),
    ]
    for body, field in cases:
        response = await house.http.post(f"{CASH}/payments", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert (await house.http.get(f"{CASH}/payments")).json()["items"] == []

    queued = await _apply(house, _payment("1.00", customer_erp_id=customer.erp_id))
    clash = await house.http.post(
        f"{CASH}/payments",
        json={**_payment("2.00"), "payment_reference": queued["payment_reference"]},
    )
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["field"] == "payment_reference"
    review_id = queued["review"]["review_id"]
    wrong = await house.http.post(
        f"{CASH}/reviews/{review_id}/resolution",
        json={"actor": "cash-desk@bank.example", "invoice_erp_numbers": ["90099999"]},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "invoice_erp_numbers"
    empty = await house.http.post(
        f"{CASH}/reviews/{review_id}/resolution",
        json={"actor": "cash-desk@bank.example", "invoice_erp_numbers": []},
    )
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "invoice_erp_numbers"
    assert await _erp_payments(house, customer) == 0
    assert await _open_balance(house, billed["invoice"]) == Decimal(billed["gross"])
