"""A deterministic data generator for both sandboxes: matched or deliberately mismatched.

plan = make_plan(seed=7, sizes=Sizes(customers=1000), scenario=Scenario.MISMATCHED)
seed_crm(plan, DirectCrm(crm_store)); seed_erp(plan, erp := DirectErp()); erp.flush(store)
manifest(plan)  # the seeded differences, for reconciliation
"""

from ledgerbridge.sandboxes.generator.crm_direct import DirectCrm
from ledgerbridge.sandboxes.generator.databases import Seeded, seed_databases
from ledgerbridge.sandboxes.generator.erp_direct import DirectErp, MemoryStore
from ledgerbridge.sandboxes.generator.manifest import manifest, write_manifest
from ledgerbridge.sandboxes.generator.plan import (
    Mismatch,
    MismatchClass,
    Payment,
    Plan,
    Scenario,
    Sizes,
    make_plan,
)
from ledgerbridge.sandboxes.generator.seeding import CrmSink, ErpSink, seed_crm, seed_erp

__all__ = [
    "CrmSink",
    "DirectCrm",
    "DirectErp",
    "ErpSink",
    "MemoryStore",
    "Mismatch",
    "MismatchClass",
    "Payment",
    "Plan",
    "Scenario",
    "Seeded",
    "Sizes",
    "make_plan",
    "manifest",
    "seed_crm",
    "seed_databases",
    "seed_erp",
    "write_manifest",
]
