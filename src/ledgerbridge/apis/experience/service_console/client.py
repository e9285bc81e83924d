"""Published contract of the service-console Experience API: the customer 360 and its client.

The 360 answers in one call even when a backend is down: each part it gathers has a marker
in ``sources`` (``ok``, ``unavailable`` with the reason, or ``skipped`` when it needed
something another part could not give), and the part itself is then ``null``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from pydantic import BaseModel

from ledgerbridge.apis.experience.fanout import SourceState, SourceStatus
from ledgerbridge.canonical import Case, Invoice, Money, Party, Payment, ReceivableItem
from ledgerbridge.runtime.api_client import ApiClient

__all__ = [
    "CreditPosition",
    "Customer360",
    "OpenOrder",
    "ServiceConsoleClient",
    "SourceState",
    "SourceStatus",
    "TimelineItem",
]


class CreditPosition(BaseModel):
    """The customer's credit in one segment: limit, used and what is left."""

    segment: str
    limit: Money
    exposure: Money
    available: Money
    blocked: bool


class OpenOrder(BaseModel):
    """An order of the customer still in order-to-cash (not closed, rejected or cancelled)."""

    order_id: str
    state: str
    status: str
    erp_order_number: str | None
    total: Decimal | None
    currency: str | None
    placed_at: datetime


class TimelineItem(BaseModel):
    """One dated thing that happened with the customer, newest first in the 360."""

    at: datetime
    kind: str
    summary: str
    reference: str | None = None


class Customer360(BaseModel):
    """Everything the call centre needs about one customer, from the CRM and the ERP."""

    customer_crm_id: str
    customer_erp_id: str | None
    profile: Party | None
    open_cases: list[Case] | None
    open_orders: list[OpenOrder] | None = None
    credit: CreditPosition | None
    open_invoices: list[Invoice] | None
    open_receivables: list[ReceivableItem] | None
    recent_payments: list[Payment] | None
    timeline: list[TimelineItem]
    sources: dict[str, SourceStatus]
    complete: bool


class ServiceConsoleClient(ApiClient):
    """The call centre's view of customers."""

    base_path = "/experience/service-console/v1"

    async def customer_360(
        self, customer_crm_id: str, *, credit_segment: str = "1000"
    ) -> Customer360:
        """The 360 of the customer with CRM account id ``customer_crm_id``."""
        return await self._call(
            "GET",
            f"/customers/{quote(customer_crm_id)}",
            Customer360,
            params={"credit_segment": credit_segment},
        )
