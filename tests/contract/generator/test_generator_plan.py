"""The plan: deterministic, sized by its arguments, and honest about its mismatches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledgerbridge.sandboxes.generator import (
    MismatchClass,
    Scenario,
    Sizes,
    make_plan,
    manifest,
    write_manifest,
)


def test_same_seed_same_plan() -> None:
    """The same seed, sizes and scenario give the same manifest, ids and amounts."""
    first = make_plan(seed=3, sizes=Sizes(customers=40), scenario=Scenario.MISMATCHED)
    again = make_plan(seed=3, sizes=Sizes(customers=40), scenario=Scenario.MISMATCHED)
    other = make_plan(seed=4, sizes=Sizes(customers=40), scenario=Scenario.MISMATCHED)
    assert manifest(first) == manifest(again)
    assert [(o.crm_id, o.erp_numbers, o.erp_total) for o in first.orders] == [
        (o.crm_id, o.erp_numbers, o.erp_total) for o in again.orders
    ]
    assert [c.name for c in first.customers] != [c.name for c in other.customers]


def test_sizes_drive_the_counts() -> None:
    """Customers, contacts, products and orders come in the numbers the sizes ask for."""
    sizes = Sizes(
        customers=25,
        contacts_per_customer=3,
        products=7,
        open_orders_per_customer=2,
        historical_orders_per_customer=1,
    )
    counts = manifest(make_plan(seed=1, sizes=sizes))["counts"]
    assert counts["crm_accounts"] == counts["erp_customers"] == 25
    assert counts["crm_contacts"] == 75
    assert counts["products"] == 7
    assert counts["crm_orders"] == counts["erp_sales_orders"] == 75
    assert counts["erp_invoices"] == 25


def test_matched_plan_links_every_record_both_ways() -> None:
    """In the matched scenario every account and order exists on both sides with both keys."""
    plan = make_plan(seed=5, sizes=Sizes(customers=30))
    assert plan.mismatches == []
    assert all(c.crm_id and c.erp_number for c in plan.customers)
    assert all(o.in_crm and len(o.erp_numbers) == 1 for o in plan.orders)
    assert all(o.crm_total == o.erp_total for o in plan.orders)
    numbers = [int(c.erp_number or 0) for c in plan.customers]
    assert numbers == list(range(1_000_000, 1_000_030))


def test_mismatched_plan_seeds_every_class_and_lists_it(tmp_path: Path) -> None:
    """The mismatched scenario seeds each class at least once and the manifest lists them."""
    plan = make_plan(seed=9, sizes=Sizes(customers=50), scenario=Scenario.MISMATCHED)
    path = tmp_path / "manifest.json"
    write_manifest(plan, path)
    written = json.loads(path.read_text())
    classes = {(m["class"], m["entity"]) for m in written["mismatches"]}
    for kind in MismatchClass:
        assert any(c == kind.value for c, _ in classes), kind
    amount = next(m for m in written["mismatches"] if m["class"] == "amount_mismatch")
    assert amount["crm_value"] != amount["erp_value"]
    duplicate = next(
        m for m in written["mismatches"] if m["class"] == "duplicate" and m["entity"] == "order"
    )
    assert len(duplicate["erp_ids"]) == 2
    assert sum(written["mismatch_counts"].values()) == len(written["mismatches"])


def test_mismatched_needs_enough_customers() -> None:
    """A mismatched plan of fewer than ten customers is refused with the reason."""
    with pytest.raises(ValueError, match="at least 10 customers"):
        make_plan(seed=1, sizes=Sizes(customers=3), scenario=Scenario.MISMATCHED)
