"""The Process layer's consumer of ``erp.renumbered``: after an ERP cut-over, every stored
reference to an old ERP id is rewritten to the new one.

A cut-over publishes its renumbering (old id -> new id, by CRM id) in batches through the
outbox. For each batch this Idempotent Consumer first rewrites the CRM's ERP id fields through
the CRM System APIs (conditional writes: a field no longer holding the old id is left alone),
then, in one transaction with its inbox row, each Process API's own rows (each API's rewrite
lives in its ``renumbering`` module) and the batch's mark in the store. When the last batch
is marked, the cut-over is settled and the ERP switch forgets the old ids (docs/tryton.md).
"""

from __future__ import annotations

import sqlalchemy as sa
import structlog

from ledgerbridge.apis.process.billing.renumbering import rewrite_invoices
from ledgerbridge.apis.process.credit_verification.renumbering import rewrite_decisions
from ledgerbridge.apis.process.customer_onboarding.renumbering import (
    rewrite_crm_accounts,
    rewrite_customers,
)
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash.renumbering import rewrite_cases, rewrite_crm_orders
from ledgerbridge.runtime.messaging import (
    Delivery,
    EventBus,
    Handler,
    Subscription,
    consumed_once,
    inbox,
)
from ledgerbridge.runtime.store.renumbering import TOPIC, RenumberedBatch, mark_rewritten

log = structlog.get_logger("ledgerbridge.process.erp_renumbering")
CONSUMER = "process.erp-renumbering"


async def apply_renumbering(deps: ProcessDeps, batch: RenumberedBatch) -> dict[str, int] | None:
    """Rewrite every reference one batch renumbers; returns the rows and fields changed by
    kind, or None when the batch was applied before."""
    message_id = batch.message().id
    async with deps.store.engine.connect() as conn:
        seen = await conn.execute(
            sa.select(inbox.c.message_id).where(
                inbox.c.consumer == CONSUMER, inbox.c.message_id == message_id
            )
        )
        if seen.first() is not None:
            return None
    items = batch.items
    changed = {
        "crm_orders": await rewrite_crm_orders(deps.system, items),
        "crm_accounts": await rewrite_crm_accounts(deps.system, items),
    }
    async with deps.store.engine.begin() as conn:
        if not await consumed_once(conn, CONSUMER, message_id):
            return None
        changed["o2c_cases"] = await rewrite_cases(conn, items)
        changed["onboarded_customers"] = await rewrite_customers(conn, items)
        changed["credit_decisions"] = await rewrite_decisions(conn, items)
        changed["invoices"] = await rewrite_invoices(conn, items)
        settled = await mark_rewritten(conn, batch.cutover_id, batch.batch)
    log.info(
        "erp renumbering rewritten",
        cutover_id=batch.cutover_id,
        batch=batch.batch,
        settled=settled,
        **changed,
    )
    return changed


def renumbering_handler(deps: ProcessDeps) -> Handler:
    """The bus handler: one ``erp.renumbered`` event, applied once."""

    async def handle(delivery: Delivery) -> None:
        await apply_renumbering(deps, RenumberedBatch.of(delivery.message))

    return handle


async def consume_renumbering(bus: EventBus, deps: ProcessDeps) -> Subscription:
    """Subscribe the consumer to ``erp.renumbered``."""
    return await bus.subscribe(TOPIC, renumbering_handler(deps), group=CONSUMER)


__all__ = ["CONSUMER", "apply_renumbering", "consume_renumbering", "renumbering_handler"]
