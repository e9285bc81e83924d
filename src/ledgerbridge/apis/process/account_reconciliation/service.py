"""A reconciliation run: read both sides, compare, repair what is safe, record the rest.

Safe repairs are the ones that only copy a fact the other side already states without
doubt: the number of the one ERP sales order carrying a CRM order's id onto that CRM order
(ERP_Order_Number__c), and the crosswalk row of a pair both sides agree on. Everything else
(missing records, duplicates, amounts, other fields) is queued with its evidence for a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import structlog

from ledgerbridge.apis.process.account_reconciliation import store
from ledgerbridge.apis.process.account_reconciliation.client import (
    Entity,
    EntitySummary,
    ReconciliationRun,
    Resolution,
    RunSummary,
    StartReconciliation,
)
from ledgerbridge.apis.process.account_reconciliation.compare import (
    LINK_ERP_ORDER,
    Comparison,
    Finding,
    compare_accounts,
    compare_invoices,
    compare_orders,
    compare_payments,
)
from ledgerbridge.apis.process.account_reconciliation.sources import read_both_sides
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.system.crm_orders.client import CrmOrdersClient
from ledgerbridge.runtime.errors import LedgerbridgeError, NotFound
from ledgerbridge.runtime.store import find_link, link

log = structlog.get_logger("ledgerbridge.account_reconciliation")
_COMPARERS = {
    Entity.ACCOUNTS: compare_accounts,
    Entity.ORDERS: compare_orders,
    Entity.INVOICES: compare_invoices,
    Entity.PAYMENTS: compare_payments,
}


async def get_run(deps: ProcessDeps, run_id: str) -> ReconciliationRun:
    """The run, or NotFound."""
    async with deps.store.engine.connect() as conn:
        run = await store.load_run(conn, run_id)
    if run is None:
        raise NotFound(f"no reconciliation run {run_id}", backend="store")
    return run


async def reconcile(deps: ProcessDeps, request: StartReconciliation) -> ReconciliationRun:
    """Run a reconciliation to its end; a run that cannot read a side ends failed."""
    entities = sorted(set(request.entities), key=list(Entity).index)
    async with deps.store.engine.begin() as conn:
        run_id = await store.open_run(conn, entities, repair=request.repair)
    try:
        snap = await read_both_sides(deps.store, deps.system, accounts=Entity.ACCOUNTS in entities)
        comparisons = [_COMPARERS[entity](snap) for entity in entities]
        await _record_pairs(deps, comparisons)
        found = [
            (finding, await _resolve(deps, finding, repair=request.repair))
            for comparison in comparisons
            for finding in comparison.findings
        ]
    except LedgerbridgeError as exc:
        async with deps.store.engine.begin() as conn:
            await store.fail_run(conn, run_id, exc.message)
        log.warning("reconciliation failed", run_id=run_id, error=exc.message)
        return await get_run(deps, run_id)
    async with deps.store.engine.begin() as conn:
        await store.finish_run(conn, run_id, summary=summarize(comparisons, found), found=found)
    return await get_run(deps, run_id)


async def _record_pairs(deps: ProcessDeps, comparisons: Sequence[Comparison]) -> None:
    """Fill in the crosswalk for pairs both sides agree on (never re-pointing a row)."""
    async with deps.store.engine.begin() as conn:
        for comparison in comparisons:
            for entity, crm_id, erp_id in comparison.pairs:
                existing = await find_link(conn, entity, crm_id=crm_id)
                taken = await find_link(conn, entity, erp_id=erp_id)
                if (existing is None or existing.erp_id is None) and taken is None:
                    await link(conn, entity, crm_id=crm_id, erp_id=erp_id)


async def _resolve(deps: ProcessDeps, finding: Finding, *, repair: bool) -> Resolution:
    if not repair or finding.repair != LINK_ERP_ORDER or finding.crm_id is None:
        return Resolution.QUEUED
    (erp_number,) = finding.erp_ids
    await CrmOrdersClient(deps.system).link_erp_order(finding.crm_id, erp_number)
    return Resolution.REPAIRED


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def summarize(
    comparisons: Sequence[Comparison], found: Sequence[tuple[Finding, Resolution]]
) -> RunSummary:
    """The run's figures: compared, matched, explained, by kind and by entity."""
    compared = sum(c.compared for c in comparisons)
    matched = sum(c.matched for c in comparisons)
    explained = sum(c.explained for c in comparisons)
    resolutions = Counter(resolution for _, resolution in found)
    return RunSummary(
        compared=compared,
        matched=matched,
        explained=explained,
        match_rate=_rate(matched, compared),
        explained_rate=_rate(matched + explained, compared),
        repaired=resolutions[Resolution.REPAIRED],
        queued=resolutions[Resolution.QUEUED],
        by_kind=dict(sorted(Counter(f.kind.value for f, _ in found).items())),
        by_entity={
            c.entity: EntitySummary(
                compared=c.compared, matched=c.matched, differences=len(c.findings)
            )
            for c in comparisons
        },
    )
