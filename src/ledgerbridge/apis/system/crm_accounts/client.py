"""Published contract of the crm-accounts System API: its typed client."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from ledgerbridge.canonical import Party
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.batch import BatchResult
from ledgerbridge.runtime.paging import Page


class CrmAccountsClient(ApiClient):
    """Customer accounts held in the CRM, in canonical form.

    Usage::

        account, etag = await accounts.read_account("0015g00000Qm7RtAAJ")
        await accounts.update_account(account.model_copy(update={"name": "..."}), etag=etag)
    """

    base_path = "/system/crm-accounts/v1"

    async def get_account(self, account_id: str) -> Party:
        """The account with CRM id ``account_id``."""
        return await self._call("GET", f"/accounts/{quote(account_id)}", Party)

    async def read_account(self, account_id: str) -> tuple[Party, str]:
        """The account with CRM id ``account_id`` and its ETag, for `update_account`."""
        return await self._versioned(f"/accounts/{quote(account_id)}", Party)

    async def update_account(self, party: Party, *, etag: str) -> Party:
        """Replace the fields of account ``party.crm_id`` if it is still the version ``etag``."""
        if party.crm_id is None:
            raise ValueError("update_account needs the account's crm_id")
        return await self._replace(f"/accounts/{quote(party.crm_id)}", party, etag=etag)

    async def list_accounts(
        self,
        *,
        account_number: str | None = None,
        erp_customer_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Party]:
        """One page of accounts matching the filters given."""
        filters = {"account_number": account_number, "erp_customer_id": erp_customer_id}
        return await self._page("/accounts", Party, filters=filters, limit=limit, cursor=cursor)

    async def upsert_accounts(self, parties: Sequence[Party]) -> BatchResult:
        """Create or update up to 2000 accounts by ``erp_id``; an outcome per party, in order."""
        body = {"records": [party.model_dump(mode="json") for party in parties]}
        return await self._call("POST", "/accounts/batch", BatchResult, json=body)
