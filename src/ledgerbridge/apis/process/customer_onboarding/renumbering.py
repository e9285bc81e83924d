"""Customer onboarding after an ERP cut-over: its customers, its conflicts and the CRM
accounts name the new ERP customer ids.

Keyed by CRM account id and by the old value, like every renumbering rewrite: running a batch
twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.customer_onboarding.store import conflicts, customers
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.runtime.problems import UpstreamProblem
from ledgerbridge.runtime.store.renumbering import Renumbering

_WRITE_ATTEMPTS = 3


async def rewrite_customers(conn: AsyncConnection, renumbered: Iterable[Renumbering]) -> int:
    """Point each onboarded customer and its conflicts at the new ERP id; returns rows changed."""
    changed = 0
    for item in renumbered:
        if item.entity != "party":
            continue
        for table in (customers, conflicts):
            result = await conn.execute(
                table.update()
                .where(table.c.crm_id == item.crm_id, table.c.erp_id == item.old_id)
                .values(erp_id=item.new_id)
            )
            changed += result.rowcount
    return changed


async def rewrite_crm_accounts(system: httpx.AsyncClient, renumbered: Iterable[Renumbering]) -> int:
    """Put each renumbered customer's new id on its CRM account (ERP_Customer_Id__c), through
    the crm-accounts System API at the version read; returns how many accounts changed.

    Raises:
        UpstreamProblem: an account kept changing, or the CRM refused the write.
    """
    accounts = CrmAccountsClient(system)
    changed = 0
    for item in renumbered:
        if item.entity != "party":
            continue
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                account, etag = await accounts.read_account(item.crm_id)
                if account.erp_id != item.old_id:
                    break
                await accounts.update_account(
                    account.model_copy(update={"erp_id": item.new_id}), etag=etag
                )
            except UpstreamProblem as exc:
                if exc.status == HTTPStatus.NOT_FOUND:
                    break  # the account is gone: nothing names the old id there
                if exc.status != HTTPStatus.PRECONDITION_FAILED or attempt + 1 == _WRITE_ATTEMPTS:
                    raise
            else:
                changed += 1
                break
    return changed
