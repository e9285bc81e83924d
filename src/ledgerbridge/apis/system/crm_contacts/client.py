"""Published contract of the crm-contacts System API: its typed client."""

from __future__ import annotations

from urllib.parse import quote

from ledgerbridge.canonical import Contact
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class CrmContactsClient(ApiClient):
    """Contacts (people at customer accounts) held in the CRM, in canonical form."""

    base_path = "/system/crm-contacts/v1"

    async def get_contact(self, record_id: str) -> Contact:
        """One Contact record by its CRM id."""
        return await self._call("GET", f"/contacts/{quote(record_id)}", Contact)

    async def list_contacts(
        self,
        *,
        account_id: str | None = None,
        email: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Contact]:
        """One page of Contact records matching the filters given."""
        return await self._page(
            "/contacts",
            Contact,
            filters={"account_id": account_id, "email": email},
            limit=limit,
            cursor=cursor,
        )
