"""Published contract of the customer-portal Experience API: response models and clients.

v1 answers ``/orders/{id}/status`` with flat status fields. v2 (breaking) answers
``/orders/{id}`` with the state as one object, a timeline naming each step, and the order's
total read from the CRM.

v1 also serves the signed-in customer's own orders, invoices and payments, and one order's
status as server-sent events. The customer is named by ``X-Customer-Id`` (the CRM account
id), which the portal's sign-in sets and the gateway never passes through from outside; an
order of another customer is 404, like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from typing import TypeVar
from urllib.parse import quote

from pydantic import BaseModel, Field

from ledgerbridge.canonical import Money
from ledgerbridge.runtime.api_client import ApiClient


class StatusEvent(BaseModel):
    """One thing that happened to the order, in the customer's words."""

    label: str
    at: datetime


class PortalOrderStatus(BaseModel):
    """What a customer sees of one order."""

    order_id: str
    status: str
    label: str
    erp_order_number: str | None
    updated_at: datetime
    history: list[StatusEvent]


CUSTOMER_HEADER = "X-Customer-Id"


class PortalOrderSummary(BaseModel):
    """One of the customer's orders in their list."""

    order_id: str
    status: str
    label: str
    erp_order_number: str | None
    total: Decimal | None
    currency: str | None
    placed_at: datetime
    updated_at: datetime


class PortalInvoice(BaseModel):
    """One of the customer's invoices."""

    number: str
    date: dt.date
    due: dt.date | None
    status: str
    total: Decimal
    currency: str


class PortalPayment(BaseModel):
    """One payment the customer made."""

    date: dt.date
    amount: Decimal
    currency: str
    reference: str | None
    invoices: list[str]


class PortalOrders(BaseModel):
    """One page of the customer's orders, newest first."""

    items: list[PortalOrderSummary]
    next_cursor: str | None = None


class PortalInvoices(BaseModel):
    """One page of the customer's invoices."""

    items: list[PortalInvoice]
    next_cursor: str | None = None


class PortalPayments(BaseModel):
    """One page of the customer's payments."""

    items: list[PortalPayment]
    next_cursor: str | None = None


OwnPageT = TypeVar("OwnPageT", PortalOrders, PortalInvoices, PortalPayments)


class CustomerPortalClient(ApiClient):
    """The customer portal's view of orders."""

    base_path = "/experience/customer-portal/v1"

    async def order_status(self, order_id: str) -> PortalOrderStatus:
        """The status of the order with CRM id ``order_id``."""
        return await self._call("GET", f"/orders/{quote(order_id)}/status", PortalOrderStatus)

    async def orders(
        self, customer_crm_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> PortalOrders:
        """One page of the customer's orders, newest first."""
        return await self._own("/orders", PortalOrders, customer_crm_id, limit, cursor)

    async def invoices(
        self, customer_crm_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> PortalInvoices:
        """One page of the customer's invoices."""
        return await self._own("/invoices", PortalInvoices, customer_crm_id, limit, cursor)

    async def payments(
        self, customer_crm_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> PortalPayments:
        """One page of the customer's payments."""
        return await self._own("/payments", PortalPayments, customer_crm_id, limit, cursor)

    async def _own(
        self,
        path: str,
        model: type[OwnPageT],
        customer_crm_id: str,
        limit: int,
        cursor: str | None,
    ) -> OwnPageT:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        headers = {CUSTOMER_HEADER: customer_crm_id}
        return await self._call("GET", path, model, params=params, headers=headers)


class PortalState(BaseModel):
    """v2: where the order stands, as a code and in the customer's words."""

    code: str
    label: str


class TimelineEntry(BaseModel):
    """v2: one step the order went through."""

    step: str
    label: str
    at: datetime


class PortalOrder(BaseModel):
    """v2: what a customer sees of one order, its total included."""

    order_id: str
    state: PortalState
    erp_reference: str | None
    updated_at: datetime
    timeline: list[TimelineEntry]
    total: Money
    line_count: int = Field(ge=1)


class CustomerPortalV2Client(ApiClient):
    """The customer portal's view of orders, v2."""

    base_path = "/experience/customer-portal/v2"

    async def order(self, order_id: str) -> PortalOrder:
        """The order with CRM id ``order_id``: its state, timeline and total."""
        return await self._call("GET", f"/orders/{quote(order_id)}", PortalOrder)
