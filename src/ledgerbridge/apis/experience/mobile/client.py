"""Published contract of the mobile Experience API: compact models and the client.

Every answer carries an ``ETag``; send it back in ``If-None-Match`` to get ``304 Not
Modified`` with no body. Lists are cursor-paged (``limit``, ``cursor``, ``next_cursor``) and
take ``fields=a,b`` to keep only those keys of each item. Amounts are decimal strings in the
item's ``currency``; null fields are left out.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from ledgerbridge.runtime.api_client import ApiClient


class MobileInvoice(BaseModel):
    """One invoice, flat."""

    number: str
    date: dt.date
    due: dt.date | None = None
    status: str
    total: Decimal
    currency: str
    po: str | None = None


class MobilePayment(BaseModel):
    """One payment received, flat."""

    date: dt.date
    amount: Decimal
    currency: str
    reference: str | None = None
    invoices: list[str] = []


class MobileOrder(BaseModel):
    """Where one order stands, flat."""

    id: str
    status: str
    erp_number: str | None = None
    updated: dt.datetime
    steps: int


class MobilePage(BaseModel):
    """One page of compact items (each possibly cut down by ``fields``)."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None


class MobileClient(ApiClient):
    """The mobile app's view of a customer's invoices, payments and orders."""

    base_path = "/experience/mobile/v1"

    async def invoices(
        self,
        customer_crm_id: str,
        *,
        fields: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> MobilePage:
        """One page of the customer's invoices."""
        return await self._listing(
            f"/customers/{quote(customer_crm_id)}/invoices", fields, limit, cursor
        )

    async def payments(
        self,
        customer_crm_id: str,
        *,
        fields: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> MobilePage:
        """One page of the customer's payments."""
        return await self._listing(
            f"/customers/{quote(customer_crm_id)}/payments", fields, limit, cursor
        )

    async def order(self, order_id: str) -> MobileOrder:
        """Where one order stands."""
        return await self._call("GET", f"/orders/{quote(order_id)}", MobileOrder)

    async def _listing(
        self, path: str, fields: str | None, limit: int, cursor: str | None
    ) -> MobilePage:
        params: dict[str, Any] = {"limit": limit}
        if fields is not None:
            params["fields"] = fields
        if cursor is not None:
            params["cursor"] = cursor
        return await self._call("GET", path, MobilePage, params=params)
