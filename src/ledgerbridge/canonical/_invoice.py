"""Invoices (ERP billing documents) and their lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator

from ledgerbridge.canonical._base import CanonicalModel, CurrencyCode, UnitCode
from ledgerbridge.canonical._money import Money

__all__ = ["Invoice", "InvoiceLine", "InvoiceStatus"]


class InvoiceStatus(StrEnum):
    """How far an invoice has been paid."""

    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"


class InvoiceLine(CanonicalModel):
    """One billed item; its tax, when known, is in the same currency as its net amount."""

    item_number: str = Field(min_length=1)
    product_sku: str | None = None
    description: str | None = None
    quantity: Decimal = Field(gt=0)
    unit: UnitCode
    net_amount: Money
    tax_amount: Money | None = None
    order_erp_number: str | None = None
    order_item_number: str | None = None

    @field_validator("tax_amount")
    @classmethod
    def _tax_in_line_currency(cls, value: Money | None, info: ValidationInfo) -> Money | None:
        net = info.data.get("net_amount")
        if value is not None and net is not None and value.currency != net.currency:
            raise ValueError(f"tax is in {value.currency}, the net amount in {net.currency}")
        return value


class Invoice(CanonicalModel):
    """A customer invoice: gross = net + tax, and net is the lines' sum when lines are given.

    Lines may be absent where a system keeps only the header (an invoice summary in the CRM).
    """

    canonical_id: str | None = None
    erp_number: str = Field(min_length=1)
    crm_id: str | None = None
    customer_erp_id: str | None = None
    customer_crm_id: str | None = None
    order_erp_number: str | None = None
    po_number: str | None = None
    company_code: str | None = None
    fiscal_year: str | None = None
    accounting_document: str | None = None
    invoice_date: date
    due_date: date | None = None
    currency: CurrencyCode
    status: InvoiceStatus = InvoiceStatus.OPEN
    lines: list[InvoiceLine] = Field(default_factory=list)
    net_total: Money
    tax_total: Money
    gross_total: Money

    @field_validator("due_date")
    @classmethod
    def _due_after_issue(cls, value: date | None, info: ValidationInfo) -> date | None:
        issued = info.data.get("invoice_date")
        if value is not None and issued is not None and value < issued:
            raise ValueError(f"due {value}, before the invoice date {issued}")
        return value

    @field_validator("lines")
    @classmethod
    def _lines_in_currency(
        cls, value: list[InvoiceLine], info: ValidationInfo
    ) -> list[InvoiceLine]:
        currency = info.data.get("currency")
        for line in value:
            if currency is not None and line.net_amount.currency != currency:
                raise ValueError(f"item {line.item_number} is in {line.net_amount.currency}")
        return value

    @field_validator("net_total")
    @classmethod
    def _net_is_sum_of_lines(cls, value: Money, info: ValidationInfo) -> Money:
        lines, currency = info.data.get("lines"), info.data.get("currency")
        if currency is not None and value.currency != currency:
            raise ValueError(f"net total is in {value.currency}, the invoice in {currency}")
        if lines and currency is not None:
            expected = Money.total((line.net_amount for line in lines), currency)
            if value.amount != expected.amount:
                raise ValueError(f"{value} is not the sum of the lines, {expected}")
        return value

    @field_validator("gross_total")
    @classmethod
    def _gross_is_net_plus_tax(cls, value: Money, info: ValidationInfo) -> Money:
        net, tax = info.data.get("net_total"), info.data.get("tax_total")
        if net is None or tax is None:
            return value
        expected = net + tax
        if value != expected:
            raise ValueError(f"{value} is not net {net} + tax {tax}")
        return value
