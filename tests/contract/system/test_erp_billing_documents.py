"""erp-billing-documents over HTTP against the ERP sandbox: invoices from the billing run."""

from __future__ import annotations

from decimal import Decimal

from tests.contract.system.conftest import PROBLEM, ErpWorld

BASE = "/system/erp-billing-documents/v1"


async def test_an_invoice_reads_in_canonical_form_with_its_etag(erp: ErpWorld) -> None:
    """A billed order's invoice has its lines, totals, customer and PO, and an ETag."""
    await erp.product("MAT")
    customer = await erp.customer()
    number = await erp.invoice(customer, price="120.00", po="PO-4711")

    response = await erp.api.get(f"{BASE}/invoices/{number}")

    assert response.status_code == 200, response.text
    assert response.headers["ETag"].startswith('W/"')
    invoice = response.json()
    assert invoice["erp_number"] == number
    assert invoice["customer_erp_id"] == customer
    assert invoice["po_number"] == "PO-4711"
    assert invoice["status"] == "open"
    assert invoice["currency"] == "EUR"
    assert [line["product_sku"] for line in invoice["lines"]] == ["MAT"]
    assert Decimal(invoice["lines"][0]["quantity"]) == 2
    assert Decimal(invoice["net_total"]["amount"]) == Decimal("240.00")
    assert Decimal(invoice["gross_total"]["amount"]) == Decimal("240.00")


async def test_cancellation_is_done_once(erp: ErpWorld) -> None:
    """The first cancellation answers 201 and a cancelled invoice; a repeat 200, nothing new."""
    await erp.product("MAT")
    number = await erp.invoice(await erp.customer())

    first = await erp.api.post(f"{BASE}/invoices/{number}/cancellation")
    again = await erp.api.post(f"{BASE}/invoices/{number}/cancellation")
    documents = await erp.s4.query("API_BILLING_DOCUMENT_SRV", "A_BillingDocument")

    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "cancelled"
    assert sorted(d.properties["BillingDocumentType"] for d in documents) == ["F2", "S1"]


async def test_a_paid_invoice_cannot_be_cancelled(erp: ErpWorld) -> None:
    """Cancelling an invoice paid in part is a 422 problem with the ERP's reason."""
    await erp.product("MAT")
    customer = await erp.customer()
    number = await erp.invoice(customer)
    await erp.s4.create(
        "ZLB_INCOMING_PAYMENT_SRV",
        "IncomingPayment",
        {"Customer": customer, "AmountInTransactionCurrency": "10.00", "BillingDocument": number},
    )

    response = await erp.api.post(f"{BASE}/invoices/{number}/cancellation")

    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "paid" in response.json()["detail"]
    assert (await erp.api.get(f"{BASE}/invoices/{number}")).json()["status"] == "partially_paid"


async def test_list_filters_by_customer_status_and_po_and_pages(erp: ErpWorld) -> None:
    """Three invoices page two by two; filters by customer, PO and status find the right ones."""
    await erp.product("MAT")
    first, second = await erp.customer("001A000001"), await erp.customer("001A000002")
    numbers = [
        await erp.invoice(first, po="PO-1"),
        await erp.invoice(first, po="PO-2"),
        await erp.invoice(second, po="PO-3"),
    ]
    await erp.api.post(f"{BASE}/invoices/{numbers[1]}/cancellation")

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await erp.api.get(f"{BASE}/invoices", params=params)).json()
        seen += [i["erp_number"] for i in page["items"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            break

    async def numbers_where(**params: str) -> list[str]:
        page = (await erp.api.get(f"{BASE}/invoices", params=params)).json()
        return [i["erp_number"] for i in page["items"]]

    assert seen == numbers
    assert await numbers_where(customer_erp_id=second) == [numbers[2]]
    assert await numbers_where(po_number="PO-2") == [numbers[1]]
    assert await numbers_where(status="cancelled") == [numbers[1]]
    assert await numbers_where(status="open") == [numbers[0], numbers[2]]


async def test_errors_are_problems_naming_the_field(erp: ErpWorld) -> None:
    """An unknown invoice is 404; a bad number or status is 422 naming the field."""
    missing = await erp.api.get(f"{BASE}/invoices/99999999")
    cancel_missing = await erp.api.post(f"{BASE}/invoices/99999999/cancellation")
    bad_number = await erp.api.get(f"{BASE}/invoices/not-a-number!")
    bad_status = await erp.api.get(f"{BASE}/invoices", params={"status": "lost"})

    assert missing.status_code == cancel_missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in bad_number.json()["errors"]] == ["erp_number"]
    assert [e["field"] for e in bad_status.json()["errors"]] == ["status"]
