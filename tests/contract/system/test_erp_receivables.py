"""erp-receivables over HTTP against the ERP sandbox: open items and the payments clearing them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.contract.system.conftest import PROBLEM, ErpWorld

BASE = "/system/erp-receivables/v1"


def _payment(customer: str, amount: str, reference: str, **changes: Any) -> dict[str, Any]:
    return {
        "customer_erp_id": customer,
        "payment_date": "2026-11-30",
        "amount": {"amount": amount, "currency": "EUR"},
        "reference": reference,
        **changes,
    }


async def test_an_invoice_is_an_open_receivable(erp: ErpWorld) -> None:
    """A billed invoice shows as one open debit item of its gross amount."""
    await erp.product("MAT")
    customer = await erp.customer()
    invoice = await erp.invoice(customer, price="60.00")

    page = (await erp.api.get(f"{BASE}/receivables", params={"customer_erp_id": customer})).json()

    assert len(page["items"]) == 1
    item = page["items"][0]
    assert item["invoice_erp_number"] == invoice
    assert item["customer_erp_id"] == customer
    assert Decimal(item["amount"]["amount"]) == Decimal("120.00")
    assert item["cleared"] is False
    assert item["clearing_date"] is None


async def test_a_payment_is_posted_once_per_reference(erp: ErpWorld) -> None:
    """The first POST posts (201); a repeat with the same reference answers 200, posts nothing."""
    await erp.product("MAT")
    customer = await erp.customer()
    invoice = await erp.invoice(customer, price="60.00")
    body = _payment(customer, "120.00", "BANK-0001", invoice_erp_numbers=[invoice])

    first = await erp.api.post(f"{BASE}/payments", json=body)
    again = await erp.api.post(f"{BASE}/payments", json=body)
    listed = (await erp.api.get(f"{BASE}/payments", params={"customer_erp_id": customer})).json()

    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert first.json() == again.json()
    payment = first.json()
    assert payment["invoice_erp_numbers"] == [invoice]
    assert payment["reference"] == "BANK-0001"
    assert payment["payment_date"] == "2026-11-30"
    assert Decimal(payment["amount"]["amount"]) == Decimal("120.00")
    assert len(listed["items"]) == 1
    read = await erp.api.get(first.headers["Location"])
    assert read.json() == payment


async def test_paid_in_full_clears_and_in_part_leaves_the_rest_open(erp: ErpWorld) -> None:
    """A part payment leaves invoice and payment open; paying the rest clears all three items."""
    await erp.product("MAT")
    customer = await erp.customer()
    invoice = await erp.invoice(customer, price="50.00")

    await erp.api.post(f"{BASE}/payments", json=_payment(customer, "30.00", "PART-1"))
    still_open = (
        await erp.api.get(
            f"{BASE}/receivables", params={"invoice_erp_number": invoice, "cleared": "false"}
        )
    ).json()
    await erp.api.post(f"{BASE}/payments", json=_payment(customer, "70.00", "PART-2"))
    cleared = (
        await erp.api.get(
            f"{BASE}/receivables", params={"invoice_erp_number": invoice, "cleared": "true"}
        )
    ).json()
    open_after = (
        await erp.api.get(
            f"{BASE}/receivables", params={"customer_erp_id": customer, "cleared": "false"}
        )
    ).json()

    assert sorted(Decimal(i["amount"]["amount"]) for i in still_open["items"]) == [
        Decimal("-30.00"),
        Decimal("100.00"),
    ]
    assert len(cleared["items"]) == 3
    assert all(i["clearing_date"] for i in cleared["items"])
    assert open_after["items"] == []


async def test_lists_page_with_a_cursor(erp: ErpWorld) -> None:
    """Three payments read two by two come each once, in document order."""
    await erp.product("MAT")
    customer = await erp.customer()
    await erp.invoice(customer, price="100.00")
    posted = [
        (await erp.api.post(f"{BASE}/payments", json=_payment(customer, "10.00", f"P-{n}"))).json()
        for n in range(3)
    ]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await erp.api.get(f"{BASE}/payments", params=params)).json()
        seen += [p["erp_document"] for p in page["items"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    by_reference = (await erp.api.get(f"{BASE}/payments", params={"reference": "P-1"})).json()

    assert seen == [p["erp_document"] for p in posted]
    assert [p["erp_document"] for p in by_reference["items"]] == [posted[1]["erp_document"]]


async def test_errors_are_problems_naming_the_field(erp: ErpWorld) -> None:
    """No reference, two invoices, an overpayment or a bad amount get problems naming why."""
    await erp.product("MAT")
    customer = await erp.customer()
    await erp.invoice(customer, price="10.00")

    no_reference = await erp.api.post(f"{BASE}/payments", json=_payment(customer, "5", None))
    two_invoices = await erp.api.post(
        f"{BASE}/payments", json=_payment(customer, "5", "R-2", invoice_erp_numbers=["1", "2"])
    )
    too_much = await erp.api.post(f"{BASE}/payments", json=_payment(customer, "500", "R-3"))
    negative = await erp.api.post(f"{BASE}/payments", json=_payment(customer, "-5", "R-4"))
    missing = await erp.api.get(f"{BASE}/payments/1010/2026/1499999999")

    assert no_reference.status_code == two_invoices.status_code == too_much.status_code == 422
    assert no_reference.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in no_reference.json()["errors"]] == ["reference"]
    assert [e["field"] for e in two_invoices.json()["errors"]] == ["invoice_erp_numbers"]
    assert "exceeds" in too_much.json()["detail"]
    assert [e["field"] for e in negative.json()["errors"]] == ["amount"]
    assert missing.status_code == 404
    listed = (await erp.api.get(f"{BASE}/payments")).json()
    assert listed["items"] == []
