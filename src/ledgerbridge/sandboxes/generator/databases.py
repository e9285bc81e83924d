"""Seeding sandbox database files in-process, before (or instead of) serving them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ledgerbridge.sandboxes.crm.store import Store as CrmStore
from ledgerbridge.sandboxes.erp.store import Store as ErpStore
from ledgerbridge.sandboxes.generator.crm_direct import DirectCrm
from ledgerbridge.sandboxes.generator.erp_direct import DirectErp
from ledgerbridge.sandboxes.generator.plan import Plan
from ledgerbridge.sandboxes.generator.seeding import seed_crm, seed_erp


@dataclass(frozen=True)
class Seeded:
    """How many rows went into each database, and how long it took."""

    crm_records: int
    erp_records: int
    seconds: float

    @property
    def records_per_second(self) -> float:
        """Rows written per second, both sides together."""
        return (self.crm_records + self.erp_records) / self.seconds if self.seconds else 0.0


def seed_databases(
    plan: Plan, *, crm: str | Path | None = None, erp: str | Path | None = None
) -> Seeded:
    """Write the plan into fresh sandbox databases (either or both).

    Args:
        plan: what to write.
        crm: the CRM sandbox's SQLite file, or None to leave the CRM out.
        erp: the ERP sandbox's SQLite file, or None to leave the ERP out.

    Returns:
        Rows written per side and the time taken.

    Raises:
        ValueError: when a database already holds data.
    """
    started = time.perf_counter()
    crm_records = erp_records = 0
    if crm is not None:
        crm_sink = DirectCrm(CrmStore(str(crm)))
        seed_crm(plan, crm_sink)
        crm_records = crm_sink.written
    if erp is not None:
        erp_sink = DirectErp()
        seed_erp(plan, erp_sink)
        target = ErpStore(str(erp))
        try:
            erp_records = erp_sink.flush(target)
        finally:
            target.close()
    return Seeded(crm_records, erp_records, time.perf_counter() - started)
