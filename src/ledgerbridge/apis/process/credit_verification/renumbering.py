"""Credit verification after an ERP cut-over: its decisions name the new ERP ids.

A decision's order number and customer id are rewritten by its CRM order id and the old
value; the decision as answered (its ``record``) stays as it was, for audit.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.credit_verification.store import decisions
from ledgerbridge.runtime.store.renumbering import Renumbering, rewrite_order_columns


async def rewrite_decisions(conn: AsyncConnection, renumbered: Iterable[Renumbering]) -> int:
    """Point each decision on a renumbered order at the new ERP ids; returns rows changed."""
    return await rewrite_order_columns(
        conn,
        renumbered,
        crm_order_id=decisions.c.order_id,
        erp_order_number=decisions.c.erp_order_number,
        customer_erp_id=decisions.c.customer_erp_id,
    )
