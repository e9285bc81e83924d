"""Published contract of the erp-products System API: its typed client."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from ledgerbridge.canonical import Product
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page
from ledgerbridge.runtime.problems import UpstreamProblem


class ErpProductsClient(ApiClient):
    """Products (materials) held in the ERP, keyed by SKU.

    Usage::

        product, etag = await products.read_product("CUSTODY-BASIC")
        await products.update_product(product.model_copy(update={"name": "..."}), etag=etag)
    """

    base_path = "/system/erp-products/v1"

    async def list_products(
        self,
        *,
        active: bool | None = None,
        changed_since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Product]:
        """One page of products matching the filters given."""
        filters = {
            "active": None if active is None else str(active).lower(),
            "changed_since": None if changed_since is None else changed_since.isoformat(),
        }
        return await self._page("/products", Product, filters=filters, limit=limit, cursor=cursor)

    async def get_product(self, sku: str) -> Product:
        """The product with ``sku``."""
        return await self._call("GET", f"/products/{quote(sku)}", Product)

    async def read_product(self, sku: str) -> tuple[Product, str]:
        """The product with ``sku`` and its ETag, for `update_product`."""
        response = await self._http.get(f"{self.base_path}/products/{quote(sku)}")
        if response.is_error:
            raise UpstreamProblem(response.status_code, response.json())
        return Product.model_validate_json(response.content), response.headers["ETag"]

    async def upsert_product(self, product: Product) -> Product:
        """Create the product of ``product.sku`` or make the existing one match; idempotent."""
        body = product.model_dump(mode="json")
        return await self._call("POST", "/products", Product, json=body)

    async def update_product(self, product: Product, *, etag: str) -> Product:
        """Change the product of ``product.sku`` if it is still the version ``etag``."""
        body = product.model_dump(mode="json")
        return await self._call(
            "PUT",
            f"/products/{quote(product.sku)}",
            Product,
            json=body,
            headers={"If-Match": etag},
        )
