"""Published contract of the billing Process API: its models and typed client."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ledgerbridge.canonical import InvoiceStatus, Money
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page

INVOICE_NUMBER_PATTERN = r"^[0-9A-Za-z]{1,10}$"


class CrmInvoiceStatus(StrEnum):
    """Values of the CRM order's Invoice_Status__c picklist that billing sets."""

    INVOICED = "Invoiced"
    CANCELLED = "Cancelled"


class SyncOutcome(StrEnum):
    """What a run did with one invoice."""

    SYNCED = "synced"
    UNCHANGED = "unchanged"
    NO_CRM_ORDER = "no_crm_order"


class StartBillingRun(BaseModel):
    """A billing run: one invoice, the invoices changed since a time, or (neither given) the
    invoices changed since the last checkpointed run."""

    model_config = ConfigDict(extra="forbid")

    invoice_erp_number: str | None = Field(
        default=None, pattern=INVOICE_NUMBER_PATTERN, examples=["90000000"]
    )
    changed_since: datetime | None = Field(
        default=None, description="Read the invoices the ERP changed since then (with a zone)."
    )

    @field_validator("changed_since")
    @classmethod
    def _zoned_and_alone(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is not None and info.data.get("invoice_erp_number") is not None:
            raise ValueError("give invoice_erp_number or changed_since, not both")
        if value is not None and value.tzinfo is None:
            raise ValueError("changed_since needs a time zone")
        return value


class InvoiceBilling(BaseModel):
    """An invoice as the CRM order it bills shows it (published as ``invoice.billed``)."""

    invoice_erp_number: str
    crm_order_id: str | None = Field(description="The CRM order the invoice bills, if known.")
    erp_order_number: str | None
    customer_erp_id: str | None
    erp_status: InvoiceStatus
    amount: Money = Field(description="The invoice's gross total.")
    due_date: date | None
    crm_invoice_status: CrmInvoiceStatus
    synced_at: datetime


class RunInvoice(BaseModel):
    """One invoice a run read, and what it did with it."""

    invoice_erp_number: str
    crm_order_id: str | None
    outcome: SyncOutcome


class BillingRun(BaseModel):
    """One billing run: what it read, and what came of each invoice."""

    run_id: str
    invoice_erp_number: str | None
    changed_since: datetime | None
    checkpointed: bool = Field(description="Whether the run read from, and moved, the checkpoint.")
    started_at: datetime
    finished_at: datetime
    synced: int
    unchanged: int
    no_crm_order: int
    invoices: list[RunInvoice]


class BillingClient(ApiClient):
    """Brings ERP invoices onto the CRM orders they bill, and reports the runs."""

    base_path = "/process/billing/v1"

    async def run(self, request: StartBillingRun) -> BillingRun:
        """Run billing for one invoice or the invoices changed since a time or checkpoint."""
        body = request.model_dump(mode="json", exclude_none=True)
        return await self._call("POST", "/runs", BillingRun, json=body)

    async def get_run(self, run_id: str) -> BillingRun:
        """One billing run with its invoices."""
        return await self._call("GET", f"/runs/{quote(run_id)}", BillingRun)

    async def list_runs(self, *, limit: int = 50, cursor: str | None = None) -> Page[BillingRun]:
        """One page of billing runs, newest first."""
        return await self._page("/runs", BillingRun, filters={}, limit=limit, cursor=cursor)

    async def get_invoice(self, invoice_erp_number: str) -> InvoiceBilling:
        """What billing last brought over for an invoice."""
        return await self._call("GET", f"/invoices/{quote(invoice_erp_number)}", InvoiceBilling)
