"""Published contract of the crm-opportunities System API: its typed client."""

from __future__ import annotations

from urllib.parse import quote

from ledgerbridge.canonical import Opportunity
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class CrmOpportunitiesClient(ApiClient):
    """Sales opportunities held in the CRM, in canonical form."""

    base_path = "/system/crm-opportunities/v1"

    async def get_opportunity(self, record_id: str) -> Opportunity:
        """One Opportunity record by its CRM id."""
        return await self._call("GET", f"/opportunities/{quote(record_id)}", Opportunity)

    async def list_opportunities(
        self,
        *,
        account_id: str | None = None,
        stage: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Opportunity]:
        """One page of Opportunity records matching the filters given."""
        return await self._page(
            "/opportunities",
            Opportunity,
            filters={"account_id": account_id, "stage": stage},
            limit=limit,
            cursor=cursor,
        )
