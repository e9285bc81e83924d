"""Published contract of the crm-products System API: its typed client."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from ledgerbridge.canonical import Product
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.batch import BatchResult
from ledgerbridge.runtime.paging import Page


class CrmProductsClient(ApiClient):
    """Products as the CRM sells them, in canonical form.

    Usage::

        product, etag = await products.read_product("01t5g00000Qm7RtAAJ")
        await products.update_product(product.model_copy(update={"name": "..."}), etag=etag)
    """

    base_path = "/system/crm-products/v1"

    async def get_product(self, record_id: str) -> Product:
        """One Product2 record by its CRM id."""
        return await self._call("GET", f"/products/{quote(record_id)}", Product)

    async def read_product(self, record_id: str) -> tuple[Product, str]:
        """One Product2 record by its CRM id and its ETag, for `update_product`."""
        return await self._versioned(f"/products/{quote(record_id)}", Product)

    async def update_product(self, product: Product, *, etag: str) -> Product:
        """Replace the fields of Product2 ``product.crm_id`` if it is still the version ``etag``."""
        if product.crm_id is None:
            raise ValueError("update_product needs the product's crm_id")
        return await self._replace(f"/products/{quote(product.crm_id)}", product, etag=etag)

    async def list_products(
        self,
        *,
        sku: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Product]:
        """One page of Product2 records matching the filters given."""
        return await self._page(
            "/products", Product, filters={"sku": sku}, limit=limit, cursor=cursor
        )

    async def upsert_products(self, products: Sequence[Product]) -> BatchResult:
        """Create or update up to 2000 Product2 records by SKU; an outcome per product, in order."""
        body = {"records": [product.model_dump(mode="json") for product in products]}
        return await self._call("POST", "/products/batch", BatchResult, json=body)
