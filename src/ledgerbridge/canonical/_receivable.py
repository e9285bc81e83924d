"""Receivables (open and cleared customer items in accounts receivable) and payments."""

from __future__ import annotations

from datetime import date

from pydantic import Field, ValidationInfo, field_validator

from ledgerbridge.canonical._base import CanonicalModel
from ledgerbridge.canonical._money import Money

__all__ = ["Payment", "ReceivableItem"]


class ReceivableItem(CanonicalModel):
    """One customer line item in accounts receivable; debits are positive, credits negative.

    An item is cleared exactly when it carries a clearing date.
    """

    company_code: str = Field(min_length=1)
    fiscal_year: str = Field(pattern=r"^\d{4}$")
    accounting_document: str = Field(min_length=1)
    item: str = Field(min_length=1)
    customer_erp_id: str = Field(min_length=1)
    invoice_erp_number: str | None = None
    reference: str | None = None
    document_date: date | None = None
    due_date: date | None = None
    amount: Money
    cleared: bool = False
    clearing_date: date | None = Field(default=None, validate_default=True)
    clearing_document: str | None = None

    @field_validator("clearing_date")
    @classmethod
    def _cleared_has_date(cls, value: date | None, info: ValidationInfo) -> date | None:
        cleared = info.data.get("cleared")
        if cleared is True and value is None:
            raise ValueError("a cleared item needs its clearing date")
        if cleared is False and value is not None:
            raise ValueError("an open item has no clearing date")
        return value


class Payment(CanonicalModel):
    """Money received from a customer, and the invoices it settles."""

    canonical_id: str | None = None
    crm_id: str | None = None
    erp_document: str | None = None
    company_code: str | None = None
    fiscal_year: str | None = Field(default=None, pattern=r"^\d{4}$")
    customer_erp_id: str | None = None
    customer_crm_id: str | None = None
    payment_date: date
    amount: Money
    reference: str | None = None
    invoice_erp_numbers: list[str] = Field(default_factory=list)

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Money) -> Money:
        if value.amount <= 0:
            raise ValueError(f"a payment is a positive amount, not {value}")
        return value
