"""Seeding running sandboxes over HTTP: the CRM first, then the ERP with the CRM's real ids."""

from __future__ import annotations

import time

from ledgerbridge.sandboxes.generator.crm_remote import RemoteCrm
from ledgerbridge.sandboxes.generator.databases import Seeded
from ledgerbridge.sandboxes.generator.erp_remote import RemoteErp
from ledgerbridge.sandboxes.generator.plan import Plan, relink
from ledgerbridge.sandboxes.generator.seeding import seed_crm, seed_erp


def seed_running(
    plan: Plan, *, crm: RemoteCrm | None = None, erp: RemoteErp | None = None
) -> tuple[Plan, Seeded]:
    """Write the plan into running sandboxes (either or both), which must be empty.

    Args:
        plan: what to write.
        crm: the CRM target, or None to leave the CRM out.
        erp: the ERP target, or None to leave the ERP out.

    Returns:
        The plan as written (CRM ids as the org gave them, for the manifest), and the
        records written per side with the time taken.

    Raises:
        SeedingFailed: when a sandbox refuses a record.
        Unexpected: when the ERP numbers otherwise than planned (it was not empty).
    """
    started = time.perf_counter()
    if crm is not None:
        seed_crm(plan, crm)
        plan = relink(plan, crm.ids)
    if erp is not None:
        seed_erp(plan, erp)
    return plan, Seeded(
        crm.written if crm else 0, erp.written if erp else 0, time.perf_counter() - started
    )
