"""Onboarding a CRM account as an ERP customer, and syncing it both ways afterwards.

Onboarding creates the ERP customer from the CRM account (erp-customers finds it by the CRM
id, so a repeat or a concurrent call creates no second one), links both in the crosswalk,
writes the ERP customer number to the CRM account, and records the shared values both sides
now hold as the customer's baseline.

A sync compares each shared field on both sides with the baseline (see `policy` for who
masters what). A change only on the master's side is written to the other side; a change on
both sides to different values, or only on the side that does not master the field, is
queued as a conflict for a person and written nowhere. Each write names the version read
(If-Match), so a record edited meanwhile is not overwritten: the sync answers 412, and the
next one sees the edit (a field already written to one side then reads as converged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import sqlalchemy as sa

from ledgerbridge.apis.process.customer_onboarding import store
from ledgerbridge.apis.process.customer_onboarding.client import (
    CustomerSync,
    FieldSync,
    OnboardedCustomer,
    Side,
)
from ledgerbridge.apis.process.customer_onboarding.policy import (
    MASTERS,
    shared_values,
    with_values,
)
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.erp_customers.client import ErpCustomersClient
from ledgerbridge.canonical import Party
from ledgerbridge.runtime.errors import Conflict, LedgerbridgeError, NotFound
from ledgerbridge.runtime.problems import UpstreamProblem
from ledgerbridge.runtime.store import find_link, link

ENTITY = "party"
_WRITE_ATTEMPTS = 3


async def onboard(deps: ProcessDeps, crm_account_id: str) -> tuple[OnboardedCustomer, bool]:
    """Make a CRM account an ERP customer; returns it and whether this call onboarded it."""
    known = await _onboarded(deps, crm_account_id)
    if known is not None:
        return known, False
    crm = CrmAccountsClient(deps.system)
    account, etag = await crm.read_account(crm_account_id)
    customer = await ErpCustomersClient(deps.system).ensure_customer(account)
    if customer.erp_id is None:
        raise LedgerbridgeError(f"the ERP returned no id for customer {crm_account_id}")
    async with deps.store.engine.begin() as conn:
        await link(conn, ENTITY, crm_id=crm_account_id, erp_id=customer.erp_id)
    await _write_erp_id(crm, account, etag, customer.erp_id)
    crm_values, erp_values = shared_values(account), shared_values(customer)
    # A value the sides disagree on already has no agreed baseline: its first sync queues it.
    baseline = {f: v if v == erp_values[f] else None for f, v in crm_values.items()}
    try:
        async with deps.store.engine.begin() as conn:
            await store.add_customer(conn, crm_account_id, customer.erp_id, baseline)
    except sa.exc.IntegrityError:
        pass  # a concurrent call recorded it first; both answer with that record
    onboarded = await _onboarded(deps, crm_account_id)
    assert onboarded is not None
    return onboarded, True


async def _write_erp_id(crm: CrmAccountsClient, account: Party, etag: str, erp_id: str) -> None:
    """Put the ERP customer number on the CRM account, at the version read; an account
    changed meanwhile (say by a concurrent onboarding) is read again."""
    for _ in range(_WRITE_ATTEMPTS):
        if account.erp_id == erp_id:
            return
        try:
            await crm.update_account(account.model_copy(update={"erp_id": erp_id}), etag=etag)
        except UpstreamProblem as exc:
            if exc.status != HTTPStatus.PRECONDITION_FAILED:
                raise
            assert account.crm_id is not None
            account, etag = await crm.read_account(account.crm_id)
        else:
            return
    raise Conflict(f"CRM account {account.crm_id} keeps changing", backend="crm-accounts")


async def _onboarded(deps: ProcessDeps, crm_id: str) -> OnboardedCustomer | None:
    async with deps.store.engine.connect() as conn:
        row = await store.load_customer(conn, crm_id)
        entry = await find_link(conn, ENTITY, crm_id=crm_id)
    if row is None or entry is None:
        return None
    return OnboardedCustomer(
        canonical_id=entry.canonical_id,
        crm_id=crm_id,
        erp_id=row.erp_id,
        name=row.baseline.get("name"),
        onboarded_at=row.onboarded_at.replace(tzinfo=row.onboarded_at.tzinfo or UTC),
    )


@dataclass
class _Plan:
    """What one sync decided: writes to each side, the new baseline, conflicts to queue."""

    baseline: dict[str, Any]
    to_crm: dict[str, Any] = field(default_factory=dict)
    to_erp: dict[str, Any] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    fields: list[FieldSync] = field(default_factory=list)


async def sync(deps: ProcessDeps, crm_id: str) -> CustomerSync:
    """Sync one onboarded customer both ways under the field policy."""
    async with deps.store.engine.connect() as conn:
        row = await store.load_customer(conn, crm_id)
        waiting = await store.open_conflicts_of(conn, crm_id)
    if row is None:
        raise NotFound(f"CRM account {crm_id} is not onboarded", backend="store", fields=["crm_id"])
    crm = CrmAccountsClient(deps.system)
    erp = ErpCustomersClient(deps.system)
    account, etag = await crm.read_account(crm_id)
    customer, erp_etag = await erp.read_customer(row.erp_id)
    plan = _plan(dict(row.baseline), account, customer, set(waiting))
    if plan.to_crm:
        await crm.update_account(with_values(account, plan.to_crm), etag=etag)
    if plan.to_erp:
        await erp.update_customer(with_values(customer, plan.to_erp), etag=erp_etag)
    try:
        async with deps.store.engine.begin() as conn:
            for values in plan.conflicts:
                conflict_id = await store.open_conflict(
                    conn, crm_id=crm_id, erp_id=row.erp_id, **values
                )
                queued = next(f for f in plan.fields if f.field == values["field"])
                queued.conflict_id = conflict_id
            await store.save_baseline(conn, crm_id, plan.baseline)
    except sa.exc.IntegrityError as exc:  # another sync queued the same conflict first
        raise Conflict(f"customer {crm_id} was synced at the same time", backend="store") from exc
    for item in plan.fields:
        if item.field in waiting:
            item.conflict_id = waiting[item.field].conflict_id
    return CustomerSync(
        crm_id=crm_id, erp_id=row.erp_id, fields=plan.fields, synced_at=datetime.now(UTC)
    )


def _plan(baseline: dict[str, Any], account: Party, customer: Party, waiting: set[str]) -> _Plan:
    plan = _Plan(baseline=baseline)
    crm_values, erp_values = shared_values(account), shared_values(customer)
    for name, master in MASTERS.items():
        base, crm, erp = baseline.get(name), crm_values[name], erp_values[name]
        item = FieldSync(field=name, master=master, outcome="unchanged", value=crm)
        plan.fields.append(item)
        if name in waiting:
            item.outcome, item.detail = "conflict", "waiting for a decision"
        elif crm == erp:
            item.outcome = "unchanged" if crm == base else "converged"
            plan.baseline[name] = crm
        elif crm != base and erp != base:
            _queue(plan, item, "both_changed", f"{name} changed in both systems", base, crm, erp)
        else:
            changed = Side.CRM if crm != base else Side.ERP
            if changed is not master:
                reason = f"{name} changed in the {changed.upper()}, which does not master it"
                _queue(plan, item, "not_master", reason, base, crm, erp)
            elif master is Side.ERP:
                item.outcome, item.value = "to_crm", erp
                plan.to_crm[name] = erp
                plan.baseline[name] = erp
            else:
                item.outcome = "to_erp"
                plan.to_erp[name] = crm
                plan.baseline[name] = crm
    return plan


def _queue(
    plan: _Plan, item: FieldSync, kind: str, reason: str, base: Any, crm: Any, erp: Any
) -> None:
    item.outcome, item.detail, item.value = "conflict", reason, None
    plan.conflicts.append(
        {
            "field": item.field,
            "master": item.master.value,
            "kind": kind,
            "reason": reason,
            "base_value": base,
            "crm_value": crm,
            "erp_value": erp,
        }
    )
