"""Published contract of the erp-sales-orders System API: its typed client."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from ledgerbridge.canonical import Order, OrderStatus, SalesOrderState
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class ErpSalesOrdersClient(ApiClient):
    """Sales orders held in the ERP."""

    base_path = "/system/erp-sales-orders/v1"

    async def create_sales_order(self, order: Order) -> SalesOrderState:
        """Create the ERP sales order for ``order``; a second call returns the first one's result.

        The CRM order id is the sales order's external reference, so no call creates two.
        """
        body = order.model_dump(mode="json")
        return await self._call("POST", "/sales-orders", SalesOrderState, json=body)

    async def get_sales_order(self, erp_number: str) -> SalesOrderState:
        """The sales order with ERP number ``erp_number``."""
        return await self._call("GET", f"/sales-orders/{quote(erp_number)}", SalesOrderState)

    async def list_sales_orders(
        self,
        *,
        customer_erp_id: str | None = None,
        status: OrderStatus | None = None,
        changed_since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[SalesOrderState]:
        """One page of sales orders matching the filters given, by number."""
        filters = {
            "customer_erp_id": customer_erp_id,
            "status": None if status is None else status.value,
            "changed_since": None if changed_since is None else changed_since.isoformat(),
        }
        return await self._page(
            "/sales-orders", SalesOrderState, filters=filters, limit=limit, cursor=cursor
        )
