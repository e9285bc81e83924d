"""Published contract of the crm-cases System API: its typed client."""

from __future__ import annotations

from urllib.parse import quote

from ledgerbridge.canonical import Case
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class CrmCasesClient(ApiClient):
    """Customer service cases held in the CRM, in canonical form."""

    base_path = "/system/crm-cases/v1"

    async def get_case(self, record_id: str) -> Case:
        """One Case record by its CRM id."""
        return await self._call("GET", f"/cases/{quote(record_id)}", Case)

    async def list_cases(
        self,
        *,
        account_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Case]:
        """One page of Case records matching the filters given."""
        return await self._page(
            "/cases",
            Case,
            filters={"account_id": account_id, "status": status},
            limit=limit,
            cursor=cursor,
        )
