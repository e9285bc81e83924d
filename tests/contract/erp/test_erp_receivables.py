"""Accounts receivable in the ERP sandbox: open items and payments clearing them."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.runtime.errors import BackendRejected

SO = "API_SALES_ORDER_SRV"
AR = "API_OPLACCTGDOCITEMCUBE_SRV"
PAY = "ZLB_INCOMING_PAYMENT_SRV"
BILLING = "API_BILLING_DOCUMENT_SRV"


@pytest.fixture
async def invoiced(erp_app: FastAPI, s4: S4HanaClient, customer: str, order_payload) -> str:
    """Two delivered and billed orders of 100.00 and 50.00 (billing 90000000, 90000001)."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("50.00",)))
    await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("25.00",)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=erp_app), auth=("LEDGERBRIDGE", "sandbox-secret")
    ) as admin:
        for order in ("1", "2"):
            await admin.post(f"http://erp.test/sandbox/admin/sales-orders/{order}/deliver")
        await admin.post("http://erp.test/sandbox/admin/billing-run")
    return customer


async def _open(s4: S4HanaClient, customer: str) -> list[tuple[str, str, Decimal]]:
    """(billing document, document type, amount) of the customer's open items."""
    items = await s4.query(
        AR,
        "A_OperationalAcctgDocItemCube",
        filter=f"Customer eq '{customer}' and IsCleared eq false",
    )
    return sorted(
        (
            i.properties["BillingDocument"],
            i.properties["AccountingDocumentType"],
            Decimal(i.properties["AmountInTransactionCurrency"]),
        )
        for i in items
    )


async def test_invoice_receivable_uses_the_billing_number(s4: S4HanaClient, invoiced: str) -> None:
    """Each billing document posts one open debit item under its own number."""
    assert await _open(s4, invoiced) == [
        ("90000000", "RV", Decimal("100.00")),
        ("90000001", "RV", Decimal("50.00")),
    ]
    invoice = await s4.get(BILLING, "A_BillingDocument", "90000000")
    assert invoice.properties["AccountingDocument"] == "90000000"


async def test_full_payment_clears_the_invoice(s4: S4HanaClient, invoiced: str) -> None:
    """Paying a billing document in full clears its item and the payment line (status C)."""
    payment = await s4.create(
        PAY,
        "IncomingPayment",
        {
            "Customer": invoiced,
            "BillingDocument": "90000000",
            "AmountInTransactionCurrency": "100.00",
            "TransactionCurrency": "EUR",
            "PaymentReference": "BANK-1",
        },
    )
    assert payment.properties["ClearingStatus"] == "C"
    assert payment.properties["AccountingDocument"] == "1400000000"
    assert await _open(s4, invoiced) == [("90000001", "RV", Decimal("50.00"))]
    invoice = await s4.get(BILLING, "A_BillingDocument", "90000000")
    assert invoice.properties["InvoiceClearingStatus"] == "C"
    lines = await s4.query(
        AR, "A_OperationalAcctgDocItemCube", filter="AccountingDocument eq '1400000000'"
    )
    assert len(lines) == 1
    line = lines[0].properties
    assert Decimal(line["AmountInTransactionCurrency"]) == Decimal("-100.00")
    assert (line["DebitCreditCode"], line["InvoiceReference"], line["PaymentReference"]) == (
        "H",
        "90000000",
        "BANK-1",
    )
    cleared = await s4.query(AR, "A_OperationalAcctgDocItemCube", filter="IsCleared eq true")
    assert {c.properties["ClearingAccountingDocument"] for c in cleared} == {"1400000000"}
    assert len(cleared) == 2


async def test_part_payment_stays_open_until_the_rest_arrives(
    s4: S4HanaClient, invoiced: str
) -> None:
    """A short payment leaves invoice and payment line open; the rest clears all three."""
    payment = await s4.create(
        PAY,
        "IncomingPayment",
        {
            "Customer": invoiced,
            "BillingDocument": "90000000",
            "AmountInTransactionCurrency": "30.00",
        },
    )
    assert payment.properties["ClearingStatus"] == "B"
    assert Decimal(payment.properties["ResidualAmount"]) == Decimal("70.00")
    assert await _open(s4, invoiced) == [
        ("90000000", "DZ", Decimal("-30.00")),
        ("90000000", "RV", Decimal("100.00")),
        ("90000001", "RV", Decimal("50.00")),
    ]
    assert (await s4.get(BILLING, "A_BillingDocument", "90000000")).properties[
        "InvoiceClearingStatus"
    ] == "B"
    rest = await s4.create(
        PAY,
        "IncomingPayment",
        {
            "Customer": invoiced,
            "BillingDocument": "90000000",
            "AmountInTransactionCurrency": "70.00",
        },
    )
    assert rest.properties["ClearingStatus"] == "C"
    assert await _open(s4, invoiced) == [("90000001", "RV", Decimal("50.00"))]
    assert (await s4.get(BILLING, "A_BillingDocument", "90000000")).properties[
        "InvoiceClearingStatus"
    ] == "C"


async def test_unassigned_payment_pays_oldest_invoices_first(
    s4: S4HanaClient, invoiced: str
) -> None:
    """Without a billing document the payment settles invoices in due-date order."""
    await s4.create(
        PAY, "IncomingPayment", {"Customer": invoiced, "AmountInTransactionCurrency": "120.00"}
    )
    assert await _open(s4, invoiced) == [
        ("90000001", "DZ", Decimal("-20.00")),
        ("90000001", "RV", Decimal("50.00")),
    ]


async def test_overpayment_is_refused_and_nothing_posts(s4: S4HanaClient, invoiced: str) -> None:
    """A payment above the open amount is refused and leaves receivables untouched."""
    with pytest.raises(BackendRejected, match="exceeds the open amount"):
        await s4.create(
            PAY,
            "IncomingPayment",
            {
                "Customer": invoiced,
                "BillingDocument": "90000001",
                "AmountInTransactionCurrency": "60.00",
            },
        )
    assert len(await _open(s4, invoiced)) == 2
    assert await s4.query(PAY, "IncomingPayment") == []


async def test_payments_reduce_credit_exposure(s4: S4HanaClient, invoiced: str) -> None:
    """Open receivables count in credit exposure until they are paid, part payments too."""
    await s4.create(
        "API_CRDTMBUSINESSPARTNER",
        "CreditMgmtBusinessPartner",
        {"BusinessPartner": invoiced, "to_CreditMgmtAccountTP": [{"CreditLimitAmount": "500.00"}]},
    )
    key = {"BusinessPartner": invoiced, "CreditSegment": "1000"}
    account = await s4.get("API_CRDTMBUSINESSPARTNER", "CreditManagementAccount", key)
    assert Decimal(account.properties["CreditExposureAmount"]) == Decimal("150.00")
    await s4.create(
        PAY, "IncomingPayment", {"Customer": invoiced, "AmountInTransactionCurrency": "110.00"}
    )
    account = await s4.get("API_CRDTMBUSINESSPARTNER", "CreditManagementAccount", key)
    assert Decimal(account.properties["CreditExposureAmount"]) == Decimal("40.00")
