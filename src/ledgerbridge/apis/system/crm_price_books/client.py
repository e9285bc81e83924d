"""Published contract of the crm-price-books System API: its typed client."""

from __future__ import annotations

from urllib.parse import quote

from ledgerbridge.canonical import Price, PriceBook
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class CrmPriceBooksClient(ApiClient):
    """Price books and their prices held in the CRM, in canonical form.

    Usage::

        price, etag = await price_books.read_price("01u5g00000Qm7RtAAJ")
        await price_books.update_price(price.model_copy(update={"active": False}), etag=etag)

    An entry's price book and product are fixed when it is created: an update that would
    change them is refused (422 naming the field).
    """

    base_path = "/system/crm-price-books/v1"

    async def get_price_book(self, record_id: str) -> PriceBook:
        """One Pricebook2 record by its CRM id."""
        return await self._call("GET", f"/price-books/{quote(record_id)}", PriceBook)

    async def list_price_books(
        self,
        *,
        name: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[PriceBook]:
        """One page of Pricebook2 records matching the filters given."""
        return await self._page(
            "/price-books", PriceBook, filters={"name": name}, limit=limit, cursor=cursor
        )

    async def get_price(self, record_id: str) -> Price:
        """One PricebookEntry record by its CRM id."""
        return await self._call("GET", f"/prices/{quote(record_id)}", Price)

    async def read_price(self, record_id: str) -> tuple[Price, str]:
        """One PricebookEntry record by its CRM id and its ETag, for `update_price`."""
        return await self._versioned(f"/prices/{quote(record_id)}", Price)

    async def create_price(self, price: Price) -> Price:
        """A new PricebookEntry for ``price`` (its book and product given by CRM id)."""
        return await self._call("POST", "/prices", Price, json=price.model_dump(mode="json"))

    async def update_price(self, price: Price, *, etag: str) -> Price:
        """Replace the fields of PricebookEntry ``price.crm_id`` if it is still the version
        ``etag``."""
        if price.crm_id is None:
            raise ValueError("update_price needs the entry's crm_id")
        return await self._replace(f"/prices/{quote(price.crm_id)}", price, etag=etag)

    async def list_prices(
        self,
        *,
        price_book_id: str | None = None,
        product_id: str | None = None,
        sku: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Price]:
        """One page of PricebookEntry records matching the filters given."""
        return await self._page(
            "/prices",
            Price,
            filters={"price_book_id": price_book_id, "product_id": product_id, "sku": sku},
            limit=limit,
            cursor=cursor,
        )
