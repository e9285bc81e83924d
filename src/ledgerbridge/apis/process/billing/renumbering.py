"""Billing after an ERP cut-over: its invoice records name the new order and customer ids.

Keyed by CRM order id and the old value. The invoice numbers stay: a cut-over copies no
invoices, so they are the old ERP's documents (docs/tryton.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.billing.store import invoices
from ledgerbridge.runtime.store.renumbering import Renumbering, rewrite_order_columns


async def rewrite_invoices(conn: AsyncConnection, renumbered: Iterable[Renumbering]) -> int:
    """Point each invoice record of a renumbered order at the new ERP ids; returns rows
    changed."""
    return await rewrite_order_columns(
        conn,
        renumbered,
        crm_order_id=invoices.c.crm_order_id,
        erp_order_number=invoices.c.erp_order_number,
        customer_erp_id=invoices.c.customer_erp_id,
    )
