"""Routes of the erp-sales-orders System API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Response, status

from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.ids import SAP_DOCUMENT_NUMBER
from ledgerbridge.canonical import Order, OrderStatus, SalesOrderState, UtcDatetime
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Cursor, Limit, Page, offset_of, page_of

API = ApiMetadata(
    name="erp-sales-orders",
    layer=Layer.SYSTEM,
    version=1,
    owner="erp-integration",
    summary="Sales orders held in the ERP.",
    scopes=("erp-sales-orders:read", "erp-sales-orders:write"),
)


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the erp-sales-orders API on the ERP port."""
    router = APIRouter()

    @router.post(
        "/sales-orders",
        status_code=status.HTTP_201_CREATED,
        responses={
            200: {"model": SalesOrderState, "description": "The sales order existed already."}
        },
    )
    async def create_sales_order(order: Order, response: Response) -> SalesOrderState:
        """Create the sales order for a CRM order, or return the one that exists (200)."""
        sales_order, created = await backends.erp.create_sales_order(order)
        if not created:
            response.status_code = status.HTTP_200_OK
        return sales_order

    @router.get("/sales-orders")
    async def list_sales_orders(
        limit: Limit = 50,
        cursor: Cursor = None,
        customer_erp_id: Annotated[
            str | None,
            Query(
                pattern=SAP_DOCUMENT_NUMBER,
                description="Only the orders of this ERP customer.",
                examples=["1000000"],
            ),
        ] = None,
        status: Annotated[
            OrderStatus | None,
            Query(
                description="Only orders in this status (an ERP order is in_erp, credit_hold, "
                "fulfilled, invoiced, paid, closed or cancelled).",
                examples=["in_erp"],
            ),
        ] = None,
        changed_since: Annotated[
            UtcDatetime | None,
            Query(
                description="Only those changed after this time (with its UTC offset).",
                examples=["2026-11-24T00:00:00Z"],
            ),
        ] = None,
    ) -> Page[SalesOrderState]:
        """ERP sales orders with their items, by number, filtered and paged."""
        offset = offset_of(cursor)
        window = await backends.erp.list_sales_orders(
            customer_erp_id=customer_erp_id,
            status=status,
            changed_since=changed_since,
            offset=offset,
            limit=limit + 1,
        )
        return page_of(window, offset=offset, limit=limit)

    @router.get("/sales-orders/{erp_number}")
    async def get_sales_order(
        erp_number: str = Path(pattern=SAP_DOCUMENT_NUMBER, examples=["4500001234"]),
    ) -> SalesOrderState:
        """One ERP sales order."""
        return await backends.erp.get_sales_order(erp_number)

    return build_api(API, routers=[router])
