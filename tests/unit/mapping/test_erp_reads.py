"""Properties: ERP-owned records rendered as S/4HANA JSON read back as the same records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.unit.mapping.canonical_strategies import (
    CURRENCIES,
    DATES,
    UNITS,
    amounts,
    optional,
    words,
)

from ledgerbridge.canonical import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    PriceBook,
    ReceivableItem,
)
from ledgerbridge.mapping import load_mapping

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def odata(day: date) -> str:
    """A date as S/4HANA writes it in OData V2 JSON."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"/Date({int((midnight - _EPOCH).total_seconds()) * 1000})/"


@st.composite
def receivable_items(draw: st.DrawFn) -> ReceivableItem:
    currency = draw(CURRENCIES)
    cleared = draw(st.booleans())
    return ReceivableItem(
        company_code=draw(st.sampled_from(["1010", "1710"])),
        fiscal_year=str(draw(st.integers(min_value=2000, max_value=2099))),
        accounting_document=draw(st.from_regex(r"18[0-9]{8}", fullmatch=True)),
        item=str(draw(st.integers(min_value=1, max_value=999))),
        customer_erp_id=draw(st.from_regex(r"17[0-9]{6}", fullmatch=True)),
        invoice_erp_number=draw(optional(st.from_regex(r"9[0-9]{7}", fullmatch=True))),
        reference=draw(optional(words(18))),
        document_date=draw(optional(DATES)),
        due_date=draw(optional(DATES)),
        amount=draw(amounts(currency, low=-(10**6))),
        cleared=cleared,
        clearing_date=draw(DATES) if cleared else None,
        clearing_document=draw(st.from_regex(r"14[0-9]{8}", fullmatch=True)) if cleared else None,
    )


def as_cube_item(item: ReceivableItem) -> dict[str, Any]:
    """Render an item as an A_OperationalAcctgDocItemCube entity (empty strings for blanks)."""
    return {
        "CompanyCode": item.company_code,
        "FiscalYear": item.fiscal_year,
        "AccountingDocument": item.accounting_document,
        "AccountingDocumentItem": item.item,
        "Customer": item.customer_erp_id,
        "BillingDocument": item.invoice_erp_number or "",
        "AssignmentReference": item.reference or "",
        "DocumentDate": odata(item.document_date) if item.document_date else None,
        "NetDueDate": odata(item.due_date) if item.due_date else None,
        "AmountInTransactionCurrency": str(item.amount.amount),
        "TransactionCurrency": item.amount.currency,
        "IsCleared": item.cleared,
        "ClearingDate": odata(item.clearing_date) if item.clearing_date else None,
        "ClearingAccountingDocument": item.clearing_document or "",
    }


@given(receivable_items())
def test_receivable_items_read_back(item: ReceivableItem) -> None:
    """Every field of a receivable item survives the ERP's JSON shape."""
    mapping = load_mapping("s4_receivable_item_to_receivable_item")
    assert mapping.to_model(as_cube_item(item), ReceivableItem) == item


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    currency = draw(CURRENCIES)
    count = draw(st.integers(min_value=1, max_value=4))
    lines = [
        InvoiceLine(
            item_number=str(10 * number),
            product_sku=draw(st.from_regex(r"[A-Z0-9]{1,18}", fullmatch=True)),
            description=draw(optional(words(40))),
            quantity=draw(st.decimals(min_value=Decimal("0.001"), max_value=10**4, places=3)),
            unit=draw(UNITS),
            net_amount=draw(amounts(currency)),
            tax_amount=draw(amounts(currency)),
            order_erp_number="1000123",
            order_item_number=str(10 * number),
        )
        for number in range(1, count + 1)
    ]
    net = Money.total((line.net_amount for line in lines), currency)
    tax = Money.total((line.tax_amount for line in lines if line.tax_amount), currency)
    cancelled = draw(st.booleans())
    return Invoice(
        erp_number=draw(st.from_regex(r"9[0-9]{7}", fullmatch=True)),
        customer_erp_id=draw(st.from_regex(r"17[0-9]{6}", fullmatch=True)),
        order_erp_number="1000123",
        po_number=draw(optional(words(35))),
        company_code="1010",
        fiscal_year="2026",
        accounting_document=draw(st.from_regex(r"18[0-9]{8}", fullmatch=True)),
        invoice_date=draw(DATES),
        currency=currency,
        status=InvoiceStatus.CANCELLED
        if cancelled
        else draw(st.sampled_from(list(InvoiceStatus)[:3])),
        lines=lines,
        net_total=net,
        tax_total=tax,
        gross_total=net + tax,
    )


_CLEARING = {InvoiceStatus.OPEN: "A", InvoiceStatus.PARTIALLY_PAID: "B", InvoiceStatus.PAID: "C"}


def as_billing_document(invoice: Invoice) -> dict[str, Any]:
    """Render an invoice as an A_BillingDocument entity with to_Item expanded."""
    return {
        "BillingDocument": invoice.erp_number,
        "BillingDocumentDate": odata(invoice.invoice_date),
        "BillingDocumentIsCancelled": invoice.status is InvoiceStatus.CANCELLED,
        "InvoiceClearingStatus": _CLEARING.get(invoice.status, "A"),
        "PayerParty": invoice.customer_erp_id,
        "PurchaseOrderByCustomer": invoice.po_number or "",
        "CompanyCode": invoice.company_code,
        "FiscalYear": invoice.fiscal_year,
        "AccountingDocument": invoice.accounting_document,
        "TransactionCurrency": invoice.currency,
        "TotalNetAmount": str(invoice.net_total.amount),
        "TaxAmount": str(invoice.tax_total.amount),
        "TotalGrossAmount": str(invoice.gross_total.amount),
        "to_Item": {
            "results": [
                {
                    "BillingDocumentItem": line.item_number,
                    "Material": line.product_sku,
                    "BillingDocumentItemText": line.description or "",
                    "BillingQuantity": str(line.quantity),
                    "BillingQuantityUnit": line.unit,
                    "NetAmount": str(line.net_amount.amount),
                    "TaxAmount": str(line.tax_amount.amount) if line.tax_amount else None,
                    "SalesDocument": line.order_erp_number,
                    "SalesDocumentItem": line.order_item_number,
                }
                for line in invoice.lines
            ]
        },
    }


@given(invoices())
def test_billing_documents_read_back(invoice: Invoice) -> None:
    """Every field of an invoice, lines included, survives the ERP's JSON shape."""
    mapping = load_mapping("s4_billing_document_to_invoice")
    assert mapping.to_model(as_billing_document(invoice), Invoice) == invoice


@given(
    st.builds(PriceBook, crm_id=st.just("01s5g00000AbCdEAAX"), name=words(80), active=st.booleans())
)
def test_price_book_through_salesforce(book: PriceBook) -> None:
    """A custom price book written as a Pricebook2 reads back equal."""
    payload = load_mapping("price_book_to_salesforce_pricebook").apply(book) | {"Id": book.crm_id}
    assert load_mapping("salesforce_pricebook_to_price_book").to_model(payload, PriceBook) == book
