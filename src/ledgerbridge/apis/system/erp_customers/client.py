"""Published contract of the erp-customers System API: its typed client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from ledgerbridge.canonical import Party
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.batch import BatchResult
from ledgerbridge.runtime.paging import Page


class ErpCustomersClient(ApiClient):
    """Customers (business partners) held in the ERP, in canonical form.

    Usage::

        customer, etag = await customers.read_customer("1000042")
        await customers.update_customer(customer.model_copy(update={"name": "..."}), etag=etag)
    """

    base_path = "/system/erp-customers/v1"

    async def ensure_customer(self, party: Party) -> Party:
        """Create the customer unless one exists for ``party.crm_id``; either way return it."""
        body = party.model_dump(mode="json")
        return await self._call("POST", "/customers", Party, json=body)

    async def ensure_customers(self, parties: Sequence[Party]) -> BatchResult:
        """`ensure_customer` for up to 2000 parties in one call; an outcome per party, in order.

        An outcome's ``id`` is the customer's ERP id.
        """
        body = {"records": [party.model_dump(mode="json") for party in parties]}
        return await self._call("POST", "/customers/batch", BatchResult, json=body)

    async def list_customers(
        self,
        *,
        crm_id: str | None = None,
        changed_since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Party]:
        """One page of customers matching the filters given, by ERP id."""
        filters = {
            "crm_id": crm_id,
            "changed_since": None if changed_since is None else changed_since.isoformat(),
        }
        return await self._page("/customers", Party, filters=filters, limit=limit, cursor=cursor)

    async def get_customer(self, customer_id: str) -> Party:
        """The customer with ERP id ``customer_id``."""
        return await self._call("GET", f"/customers/{quote(customer_id)}", Party)

    async def read_customer(self, customer_id: str) -> tuple[Party, str]:
        """The customer with ERP id ``customer_id`` and its ETag, for `update_customer`."""
        return await self._versioned(f"/customers/{quote(customer_id)}", Party)

    async def update_customer(self, party: Party, *, etag: str) -> Party:
        """Set the name and billing address of customer ``party.erp_id`` if it is still the
        version ``etag``."""
        if party.erp_id is None:
            raise ValueError("update_customer needs the customer's erp_id")
        return await self._replace(f"/customers/{quote(party.erp_id)}", party, etag=etag)
