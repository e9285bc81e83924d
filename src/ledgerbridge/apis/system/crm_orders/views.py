"""Routes of the crm-orders System API, v1 and v2 side by side on the same service.

v1 is deprecated in favour of v2, which no longer embeds the lines in the order (they are
paged under ``/orders/{id}/lines``) and carries the currency only in ``net_total``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.crm_orders import service
from ledgerbridge.apis.system.crm_orders.client import (
    BillingStatus,
    ErpLink,
    OrderLinePage,
    OrderSummary,
)
from ledgerbridge.apis.system.ids import SALESFORCE_ID
from ledgerbridge.canonical import Order, OrderStatus, UtcDatetime
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Cursor, Limit, Page, decode_cursor, encode_cursor
from ledgerbridge.runtime.versioning import Lifecycle

API = ApiMetadata(
    name="crm-orders",
    layer=Layer.SYSTEM,
    version=1,
    owner="crm-integration",
    summary="Orders held in the CRM, with their lines, in canonical form.",
    scopes=("crm-orders:read", "crm-orders:write"),
    lifecycle=Lifecycle(
        deprecated=datetime(2026, 11, 1, tzinfo=UTC),
        sunset=datetime(2028, 5, 1, tzinfo=UTC),
        successor=2,
    ),
)
API_V2 = ApiMetadata(
    name="crm-orders",
    layer=Layer.SYSTEM,
    version=2,
    owner="crm-integration",
    summary="Orders held in the CRM in canonical form; their lines paged.",
    scopes=("crm-orders:read", "crm-orders:write"),
)


def summary_of(order: Order) -> OrderSummary:
    """The v2 shape of an order: its header, total and how many lines it has."""
    return OrderSummary(
        crm_id=order.crm_id,
        crm_number=order.crm_number,
        erp_number=order.erp_number,
        customer_crm_id=order.customer_crm_id,
        order_date=order.order_date,
        status=order.status,
        po_number=order.po_number,
        net_total=order.net_total,
        line_count=len(order.lines),
    )


AccountFilter = Annotated[
    str | None,
    Query(
        pattern=SALESFORCE_ID,
        description="Only the orders of this CRM account.",
        examples=["0015g00000Qm7RtAAJ"],
    ),
]
StatusFilter = Annotated[
    OrderStatus | None, Query(description="Only orders in this status.", examples=["activated"])
]
ChangedSince = Annotated[
    UtcDatetime | None,
    Query(
        description="Only orders changed at or after this time (with its UTC offset; the CRM "
        "compares whole seconds).",
        examples=["2026-11-24T00:00:00Z"],
    ),
]


async def _order_page(
    backends: SystemBackends,
    *,
    account_id: str | None,
    status: OrderStatus | None,
    changed_since: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[Order]:
    """One page of orders by CRM id; the cursor holds the last id served."""
    after = decode_cursor(cursor).get("after")
    if after is not None and not (isinstance(after, str) and re.match(SALESFORCE_ID, after)):
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "cursor"),
                    "msg": "not a cursor from this API",
                    "type": "value_error",
                }
            ]
        )
    window = await service.list_orders(
        backends.salesforce,
        account_id=account_id,
        status=status,
        changed_since=changed_since,
        after=after,
        limit=limit + 1,
    )
    page = window[:limit]
    more = len(window) > limit
    return Page[Order](
        items=page, next_cursor=encode_cursor({"after": page[-1].crm_id}) if more else None
    )


def create_app(backends: SystemBackends) -> list[FastAPI]:
    """Build crm-orders v1 and v2 on the Salesforce connector."""
    crm = backends.salesforce
    v1, v2 = APIRouter(), APIRouter()

    @v1.get("/orders")
    async def list_orders(
        account_id: AccountFilter = None,
        status: StatusFilter = None,
        changed_since: ChangedSince = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[Order]:
        """CRM orders with their lines, by CRM id, filtered and paged."""
        return await _order_page(
            backends,
            account_id=account_id,
            status=status,
            changed_since=changed_since,
            limit=limit,
            cursor=cursor,
        )

    @v1.get("/orders/{order_id}")
    async def get_order(order_id: str = Path(pattern=SALESFORCE_ID)) -> Order:
        """One CRM order with its lines."""
        return await service.get_order(crm, order_id=order_id)

    @v1.put("/orders/{order_id}/erp-link")
    async def link_erp_order(body: ErpLink, order_id: str = Path(pattern=SALESFORCE_ID)) -> Order:
        """Record which ERP sales order the CRM order became (repeatable)."""
        return await service.link_erp_order(
            crm, order_id=order_id, erp_order_number=body.erp_order_number
        )

    @v2.get("/orders")
    async def list_order_summaries(
        account_id: AccountFilter = None,
        status: StatusFilter = None,
        changed_since: ChangedSince = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[OrderSummary]:
        """CRM orders without their lines, by CRM id, filtered and paged."""
        page = await _order_page(
            backends,
            account_id=account_id,
            status=status,
            changed_since=changed_since,
            limit=limit,
            cursor=cursor,
        )
        return Page[OrderSummary](
            items=[summary_of(order) for order in page.items], next_cursor=page.next_cursor
        )

    @v2.get("/orders/{order_id}")
    async def get_order_summary(order_id: str = Path(pattern=SALESFORCE_ID)) -> OrderSummary:
        """One CRM order: its header, total and line count."""
        return summary_of(await service.get_order(crm, order_id=order_id))

    @v2.get("/orders/{order_id}/lines")
    async def list_order_lines(
        order_id: str = Path(pattern=SALESFORCE_ID),
        offset: int = Query(0, ge=0),
        limit: int = Query(50, ge=1, le=200),
    ) -> OrderLinePage:
        """One page of a CRM order's lines, in line-number order."""
        lines = (await service.get_order(crm, order_id=order_id)).lines
        return OrderLinePage(
            items=lines[offset : offset + limit], total=len(lines), offset=offset, limit=limit
        )

    @v2.put("/orders/{order_id}/erp-link")
    async def link_erp_order_v2(
        body: ErpLink, order_id: str = Path(pattern=SALESFORCE_ID)
    ) -> OrderSummary:
        """Record which ERP sales order the CRM order became (repeatable)."""
        order = await service.link_erp_order(
            crm, order_id=order_id, erp_order_number=body.erp_order_number
        )
        return summary_of(order)

    @v2.put("/orders/{order_id}/billing-status")
    async def set_billing_status(
        body: BillingStatus, order_id: str = Path(pattern=SALESFORCE_ID)
    ) -> OrderSummary:
        """Set the order's invoice and/or payment status (repeatable)."""
        order = await service.set_billing_status(
            crm,
            order_id=order_id,
            invoice_status=body.invoice_status,
            payment_status=body.payment_status,
        )
        return summary_of(order)

    return [build_api(API, routers=[v1]), build_api(API_V2, routers=[v2])]
