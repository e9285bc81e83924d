"""Published contract of the cash-application Process API: its models and typed client."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledgerbridge.canonical import Money
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page

# Short enough that "<reference>/<allocation>" fits the ERP's 30-character payment reference.
PAYMENT_REFERENCE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._-]{0,23}$"
INVOICE_NUMBER_PATTERN = r"^[0-9A-Za-z]{1,10}$"


class PaymentStatus(StrEnum):
    """Where a payment stands."""

    APPLIED = "applied"
    IN_REVIEW = "in_review"


class MatchedBy(StrEnum):
    """How a payment found its invoices."""

    REFERENCE = "reference"
    AMOUNT = "amount"
    REVIEW = "review"


class ReviewReason(StrEnum):
    """Why a payment, or part of it, waits for a person."""

    UNKNOWN_CUSTOMER = "unknown_customer"
    NO_REFERENCE = "no_reference"
    AMBIGUOUS_AMOUNT = "ambiguous_amount"
    NO_OPEN_INVOICE = "no_open_invoice"
    OVER_PAYMENT = "over_payment"
    ERP_REJECTED = "erp_rejected"


class CrmPaymentStatus(StrEnum):
    """Values of the CRM order's Payment_Status__c picklist that cash application sets."""

    PAID = "Paid"
    PARTIALLY_PAID = "Partially Paid"


class IncomingPayment(BaseModel):
    """Money received (a bank statement line or remittance advice), to apply to invoices."""

    model_config = ConfigDict(extra="forbid")

    payment_reference: str = Field(
        pattern=PAYMENT_REFERENCE_PATTERN,
        description="The bank's reference of the payment; it identifies the payment here.",
        examples=["BANK-20261130-0042"],
    )
    customer_erp_id: str | None = Field(
        default=None, pattern=INVOICE_NUMBER_PATTERN, examples=["1000000"]
    )
    amount: Money
    payment_date: date
    references: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="What the payer quoted: invoice numbers or order (purchase order) numbers.",
        examples=[["90000000"]],
    )

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Money) -> Money:
        if value.amount <= 0:
            raise ValueError("a payment is a positive amount")
        return value

    @field_validator("references")
    @classmethod
    def _short_references(cls, value: list[str]) -> list[str]:
        cleaned = [reference.strip() for reference in value]
        if any(not 1 <= len(reference) <= 40 for reference in cleaned):
            raise ValueError("each reference has 1 to 40 characters")
        return cleaned


class Allocation(BaseModel):
    """Part of a payment applied to one invoice, and the ERP payment that clears it."""

    invoice_erp_number: str
    crm_order_id: str | None = Field(description="The CRM order the invoice bills, if known.")
    open_before: Decimal = Field(description="What was open on the invoice before.")
    applied: Decimal
    settled: bool = Field(description="Whether the invoice is paid in full by this.")
    crm_payment_status: CrmPaymentStatus
    erp_reference: str = Field(description="The payment reference posted in the ERP.")
    erp_document: str | None = Field(description="The ERP payment document, once posted.")


class Candidate(BaseModel):
    """An open invoice a person may assign a payment to."""

    invoice_erp_number: str
    open_amount: Decimal
    due_date: date | None
    reference: str | None = Field(description="The invoice's customer reference.")


class ReviewItem(BaseModel):
    """A payment, or what is left of it, waiting for a person: why, and what it could pay."""

    review_id: str
    payment_reference: str
    reason: ReviewReason
    detail: str
    amount: Money = Field(description="The amount still to assign.")
    customer_erp_id: str | None
    candidates: list[Candidate]
    status: str = Field(description="open or resolved")
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None


class PaymentApplication(BaseModel):
    """A payment and how it was applied: the allocations, what is left, any open review."""

    payment_reference: str
    customer_erp_id: str | None
    amount: Money
    payment_date: date
    references: list[str]
    status: PaymentStatus
    matched_by: MatchedBy | None
    applied: Decimal
    unapplied: Decimal
    allocations: list[Allocation]
    review: ReviewItem | None = Field(description="The open review item, if any.")
    created_at: datetime
    updated_at: datetime


class AssignInvoices(BaseModel):
    """A person's decision on a review item: the invoices to apply the amount to, in order."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=128, examples=["cash-desk@bank.example"])
    invoice_erp_numbers: list[str] = Field(min_length=1, max_length=50, examples=[["90000000"]])
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("invoice_erp_numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an invoice is named once")
        if any(not number.isalnum() or len(number) > 10 for number in value):
            raise ValueError("invoice numbers are 1 to 10 letters or digits")
        return value


class CashApplicationClient(ApiClient):
    """Applies incoming payments to open invoices, and works the review queue."""

    base_path = "/process/cash-application/v1"

    async def apply(self, payment: IncomingPayment) -> PaymentApplication:
        """Apply a payment; applying the same payment again changes nothing."""
        body = payment.model_dump(mode="json")
        return await self._call("POST", "/payments", PaymentApplication, json=body)

    async def get_payment(self, payment_reference: str) -> PaymentApplication:
        """A payment and how it was applied."""
        return await self._call("GET", f"/payments/{quote(payment_reference)}", PaymentApplication)

    async def list_payments(
        self, *, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[PaymentApplication]:
        """One page of payments, newest first, optionally in one status."""
        return await self._page(
            "/payments", PaymentApplication, filters={"status": status}, limit=limit, cursor=cursor
        )

    async def list_reviews(
        self, *, status: str | None = "open", limit: int = 50, cursor: str | None = None
    ) -> Page[ReviewItem]:
        """One page of the review queue, oldest first (open items by default)."""
        return await self._page(
            "/reviews", ReviewItem, filters={"status": status}, limit=limit, cursor=cursor
        )

    async def resolve(self, review_id: str, decision: AssignInvoices) -> PaymentApplication:
        """Apply what a review item holds to the invoices a person chose."""
        body = decision.model_dump()
        return await self._call(
            "POST", f"/reviews/{quote(review_id)}/resolution", PaymentApplication, json=body
        )
