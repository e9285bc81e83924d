"""Published contract of the erp-pricing System API: its typed client."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from ledgerbridge.canonical import Price
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page
from ledgerbridge.runtime.problems import UpstreamProblem


class ErpPricingClient(ApiClient):
    """List prices held in the ERP per product, sales organisation and channel.

    Usage::

        await pricing.upsert_price(price)           # idempotent, keyed by product and start
        price, etag = await pricing.read_price("0000000001")
        await pricing.update_price("0000000001", price.model_copy(update=...), etag=etag)
    """

    base_path = "/system/erp-pricing/v1"

    async def list_prices(
        self,
        *,
        sku: str | None = None,
        sales_organization: str | None = None,
        distribution_channel: str | None = None,
        valid_on: date | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Price]:
        """One page of prices matching the filters given."""
        filters = {
            "sku": sku,
            "sales_organization": sales_organization,
            "distribution_channel": distribution_channel,
            "valid_on": None if valid_on is None else valid_on.isoformat(),
        }
        return await self._page("/prices", Price, filters=filters, limit=limit, cursor=cursor)

    async def get_price(self, price_id: str) -> Price:
        """The price with ERP id ``price_id``."""
        return await self._call("GET", f"/prices/{quote(price_id)}", Price)

    async def read_price(self, price_id: str) -> tuple[Price, str]:
        """The price with ERP id ``price_id`` and its ETag, for `update_price`."""
        response = await self._http.get(f"{self.base_path}/prices/{quote(price_id)}")
        if response.is_error:
            raise UpstreamProblem(response.status_code, response.json())
        return Price.model_validate_json(response.content), response.headers["ETag"]

    async def upsert_price(self, price: Price) -> Price:
        """Set the price of its product, organisation, channel and start date; idempotent."""
        return await self._call("POST", "/prices", Price, json=price.model_dump(mode="json"))

    async def update_price(self, price_id: str, price: Price, *, etag: str) -> Price:
        """Change a price still at version ``etag``."""
        return await self._call(
            "PUT",
            f"/prices/{quote(price_id)}",
            Price,
            json=price.model_dump(mode="json"),
            headers={"If-Match": etag},
        )
