"""The manifest: what a plan seeded, and each difference it seeded on purpose, as JSON.

Reconciliation tests read it to know which findings to expect: one entry per mismatch with
its class, the entity, the CRM id and ERP numbers involved and, for field and amount
mismatches, the field and both values.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ledgerbridge.sandboxes.generator.plan import Plan


def manifest(plan: Plan) -> dict[str, Any]:
    """The plan's manifest as JSON-ready data."""
    return {
        "seed": plan.seed,
        "scenario": plan.scenario.value,
        "as_of": plan.as_of.isoformat(),
        "sizes": asdict(plan.sizes),
        "counts": {
            "crm_accounts": sum(
                (c.crm_id is not None) + (c.duplicate_crm_id is not None) for c in plan.customers
            ),
            "erp_customers": sum(c.erp_number is not None for c in plan.customers),
            "crm_contacts": sum(plan.customers[c.customer].in_crm for c in plan.contacts),
            "products": len(plan.products),
            "crm_orders": sum(o.in_crm for o in plan.orders),
            "erp_sales_orders": sum(len(o.erp_numbers) for o in plan.orders),
            "erp_invoices": sum(len(o.erp_numbers) for o in plan.orders if o.historical),
            "erp_payments": sum(
                len(o.erp_numbers) for o in plan.orders if o.historical and o.paid_amount > 0
            ),
        },
        "mismatch_counts": dict(sorted(Counter(m.kind.value for m in plan.mismatches).items())),
        "mismatches": [
            {
                "class": m.kind.value,
                "entity": m.entity,
                "crm_id": m.crm_id,
                "erp_ids": list(m.erp_ids),
                "field": m.field,
                "crm_value": m.crm_value,
                "erp_value": m.erp_value,
            }
            for m in plan.mismatches
        ],
    }


def write_manifest(plan: Plan, path: Path) -> None:
    """Write the plan's manifest to `path` (indented JSON)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest(plan), indent=2) + "\n", encoding="utf-8")
