"""Order-to-cash after an ERP cut-over: its cases and the CRM orders name the new ERP ids.

Every rewrite is keyed by CRM id and by the old value: a row or field already rewritten, or
written since by the new ERP (whose numbers may equal old ones), is left alone, so running a
batch twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.order_to_cash.store import cases
from ledgerbridge.apis.system.crm_orders.client import CrmOrdersV2Client
from ledgerbridge.runtime.problems import UpstreamProblem
from ledgerbridge.runtime.store.renumbering import Renumbering


async def rewrite_cases(conn: AsyncConnection, renumbered: Iterable[Renumbering]) -> int:
    """Point each case at its order's and its customer's new ERP ids; returns rows changed."""
    changed = 0
    now = datetime.now(UTC)
    for item in renumbered:
        if item.entity == "order":
            key = (cases.c.crm_order_id == item.crm_id, cases.c.erp_order_number == item.old_id)
            values = {"erp_order_number": item.new_id}
        else:
            key = (cases.c.customer_crm_id == item.crm_id, cases.c.customer_erp_id == item.old_id)
            values = {"customer_erp_id": item.new_id}
        result = await conn.execute(cases.update().where(*key).values(updated_at=now, **values))
        changed += result.rowcount
    return changed


async def rewrite_crm_orders(system: httpx.AsyncClient, renumbered: Iterable[Renumbering]) -> int:
    """Put each renumbered order's new number on its CRM order (ERP_Order_Number__c), through
    the crm-orders System API; returns how many orders changed."""
    orders = CrmOrdersV2Client(system)
    changed = 0
    for item in renumbered:
        if item.entity != "order":
            continue
        try:
            order = await orders.get_order(item.crm_id)
        except UpstreamProblem as exc:
            if exc.status == HTTPStatus.NOT_FOUND:
                continue  # the CRM order is gone: nothing names the old number there
            raise
        if order.erp_number == item.old_id:
            await orders.link_erp_order(item.crm_id, item.new_id)
            changed += 1
    return changed
