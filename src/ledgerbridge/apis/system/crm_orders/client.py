"""Published contract of the crm-orders System API: request and response models, typed clients.

v1 returns the whole canonical order with its lines. v2 (breaking) returns the order's
header with a line count and its total, and pages the lines under ``/orders/{id}/lines``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.canonical import Money, Order, OrderLine, OrderStatus
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class ErpLink(BaseModel):
    """The ERP sales order a CRM order became."""

    model_config = ConfigDict(extra="forbid")

    erp_order_number: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z]+$")


class BillingStatus(BaseModel):
    """The CRM order's invoice and payment status picklists; a field left out is kept."""

    model_config = ConfigDict(extra="forbid")

    invoice_status: (
        Literal["Not Invoiced", "Partially Invoiced", "Invoiced", "Cancelled"] | None
    ) = None
    payment_status: Literal["Unpaid", "Partially Paid", "Paid", "Overdue"] | None = None


class OrderSummary(BaseModel):
    """v2: a CRM order without its lines; they are paged under ``/orders/{id}/lines``."""

    crm_id: str
    crm_number: str | None
    erp_number: str | None
    customer_crm_id: str | None
    order_date: date
    status: OrderStatus
    po_number: str | None
    net_total: Money
    line_count: int = Field(ge=1)


class OrderLinePage(BaseModel):
    """v2: one page of an order's lines."""

    items: list[OrderLine]
    total: int = Field(ge=0)
    offset: int = Field(ge=0)
    limit: int = Field(ge=1)


def _order_filters(
    account_id: str | None, status: OrderStatus | None, changed_since: datetime | None
) -> dict[str, str | None]:
    return {
        "account_id": account_id,
        "status": None if status is None else status.value,
        "changed_since": None if changed_since is None else changed_since.isoformat(),
    }


class CrmOrdersClient(ApiClient):
    """Orders held in the CRM, in canonical form."""

    base_path = "/system/crm-orders/v1"

    async def list_orders(
        self,
        *,
        account_id: str | None = None,
        status: OrderStatus | None = None,
        changed_since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Order]:
        """One page of orders (with their lines) matching the filters given, by CRM id."""
        filters = _order_filters(account_id, status, changed_since)
        return await self._page("/orders", Order, filters=filters, limit=limit, cursor=cursor)

    async def get_order(self, order_id: str) -> Order:
        """The order with CRM id ``order_id``, with its lines."""
        return await self._call("GET", f"/orders/{quote(order_id)}", Order)

    async def link_erp_order(self, order_id: str, erp_order_number: str) -> Order:
        """Record on the CRM order the number of the ERP sales order it became."""
        body = ErpLink(erp_order_number=erp_order_number).model_dump()
        return await self._call("PUT", f"/orders/{quote(order_id)}/erp-link", Order, json=body)


class CrmOrdersV2Client(ApiClient):
    """Orders held in the CRM, v2: headers and paged lines."""

    base_path = "/system/crm-orders/v2"

    async def list_orders(
        self,
        *,
        account_id: str | None = None,
        status: OrderStatus | None = None,
        changed_since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[OrderSummary]:
        """One page of orders (without their lines) matching the filters given, by CRM id."""
        filters = _order_filters(account_id, status, changed_since)
        return await self._page(
            "/orders", OrderSummary, filters=filters, limit=limit, cursor=cursor
        )

    async def get_order(self, order_id: str) -> OrderSummary:
        """The order with CRM id ``order_id``, without its lines."""
        return await self._call("GET", f"/orders/{quote(order_id)}", OrderSummary)

    async def list_lines(self, order_id: str, *, offset: int = 0, limit: int = 50) -> OrderLinePage:
        """One page of the order's lines, in line-number order."""
        params = {"offset": offset, "limit": limit}
        return await self._call(
            "GET", f"/orders/{quote(order_id)}/lines", OrderLinePage, params=params
        )

    async def link_erp_order(self, order_id: str, erp_order_number: str) -> OrderSummary:
        """Record on the CRM order the number of the ERP sales order it became."""
        body = ErpLink(erp_order_number=erp_order_number).model_dump()
        return await self._call(
            "PUT", f"/orders/{quote(order_id)}/erp-link", OrderSummary, json=body
        )

    async def set_billing_status(self, order_id: str, status: BillingStatus) -> OrderSummary:
        """Set the CRM order's invoice and/or payment status (an overwrite: repeatable)."""
        body = status.model_dump(exclude_none=True)
        return await self._call(
            "PUT", f"/orders/{quote(order_id)}/billing-status", OrderSummary, json=body
        )


# Order changes the CRM streams (Change Data Capture), republished on the bus by this API's
# bridge through the outbox: one message each time an Order's Status becomes one of these.
ORDER_ACTIVATED = "crm.order.activated"
"""Topic (and event type) of an Order whose Status became "Activated"."""
ORDER_CANCELLED = "crm.order.cancelled"
"""Topic (and event type) of an Order whose Status became "Cancelled"."""


class OrderStatusChanged(BaseModel):
    """The data of a ``crm.order.activated`` or ``crm.order.cancelled`` message."""

    model_config = ConfigDict(extra="forbid")

    crm_order_id: str = Field(min_length=15, max_length=18, examples=["801000000000001AAA"])
