"""Resolving a queued conflict: the chosen side's value is written to the other side, and
becomes the field's baseline.

The chosen side is read again at resolution, so what is written is what that system holds
now. A conflict is closed by compare-and-set: two people resolving it at once close it once.
"""

from __future__ import annotations

from ledgerbridge.apis.process.customer_onboarding import store
from ledgerbridge.apis.process.customer_onboarding.client import (
    ResolveConflict,
    Side,
    SyncConflict,
)
from ledgerbridge.apis.process.customer_onboarding.policy import value_of, with_values
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.erp_customers.client import ErpCustomersClient
from ledgerbridge.runtime.errors import Conflict, NotFound


async def resolve(deps: ProcessDeps, conflict_id: str, decision: ResolveConflict) -> SyncConflict:
    """Apply the chosen side of an open conflict and close it."""
    async with deps.store.engine.connect() as conn:
        conflict = await store.load_conflict(conn, conflict_id)
        customer = None if conflict is None else await store.load_customer(conn, conflict.crm_id)
    if conflict is None or customer is None:
        raise NotFound(f"no conflict {conflict_id}", backend="store", fields=["conflict_id"])
    if conflict.status != store.OPEN:
        raise Conflict(f"conflict {conflict_id} is {conflict.status}", backend="store")
    crm = CrmAccountsClient(deps.system)
    erp = ErpCustomersClient(deps.system)
    account, etag = await crm.read_account(conflict.crm_id)
    erp_party, erp_etag = await erp.read_customer(conflict.erp_id)
    chosen = value_of(account if decision.side is Side.CRM else erp_party, conflict.field)
    if decision.side is Side.ERP and value_of(account, conflict.field) != chosen:
        await crm.update_account(with_values(account, {conflict.field: chosen}), etag=etag)
    if decision.side is Side.CRM and value_of(erp_party, conflict.field) != chosen:
        await erp.update_customer(with_values(erp_party, {conflict.field: chosen}), etag=erp_etag)
    async with deps.store.engine.begin() as conn:
        closed = await store.close_conflict(
            conn, conflict_id, side=decision.side, actor=decision.actor, note=decision.note
        )
        if not closed:
            raise Conflict(f"conflict {conflict_id} was resolved meanwhile", backend="store")
        current = await store.load_customer(conn, conflict.crm_id)
        assert current is not None
        baseline = dict(current.baseline) | {conflict.field: chosen}
        await store.save_baseline(conn, conflict.crm_id, baseline)
        resolved = await store.load_conflict(conn, conflict_id)
    assert resolved is not None
    return resolved
