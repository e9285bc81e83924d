"""Fault flags become the fault plan both sandboxes take."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledgerbridge.sandboxes.crm.faults import FaultPlan as CrmFaultPlan
from ledgerbridge.sandboxes.erp.faults import FaultPlan as ErpFaultPlan
from ledgerbridge.sandboxes.generator.launch import Faults, Launch

STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_flags_become_one_rule_per_route_plus_latency_and_outages() -> None:
    """Rates on one route join one rule; latency and outages apply to every route."""
    plan = Faults(
        errors=("/a/*:503:0.2", "/a/*:429:0.1", "/b:500:1"),
        latency_ms=25,
        outages=("30:10", "2026-03-01T13:00:00Z:60"),
        seed=4,
    ).plan(STARTED)
    for shape in (CrmFaultPlan, ErpFaultPlan):
        loaded = shape.model_validate(plan)
        assert loaded.seed == 4
        assert loaded.rules[0].error_rates == {503: 0.2, 429: 0.1}
        assert loaded.rules[1].route == "/b"
        assert loaded.rules[2].latency_ms == 25
        windows = [(o.start, o.end) for o in loaded.rules[3].outages]
        assert windows == [
            (
                datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC),
                datetime(2026, 3, 1, 12, 0, 40, tzinfo=UTC),
            ),
            (datetime(2026, 3, 1, 13, 0, tzinfo=UTC), datetime(2026, 3, 1, 13, 1, tzinfo=UTC)),
        ]


@pytest.mark.parametrize(
    "flag",
    ["/a:503", "/a:200:0.5", "/a:503:1.5", ":503:0.1"],
)
def test_malformed_fault_flags_are_refused(flag: str) -> None:
    """A --fault without route, with a non-error status or a rate outside 0..1 is refused."""
    with pytest.raises(ValueError, match="ROUTE:STATUS:RATE"):
        Faults(errors=(flag,)).plan(STARTED)


@pytest.mark.parametrize("flag", ["10", "soon:5", "5:0"])
def test_malformed_outage_flags_are_refused(flag: str) -> None:
    """An --outage without a readable start or a positive length is refused."""
    with pytest.raises(ValueError, match="START:SECONDS"):
        Faults(outages=(flag,)).plan(STARTED)


def test_flags_of_the_other_sandbox_are_refused() -> None:
    """The ERP takes no --tls or --daily-limit; the CRM no --delivery-delay."""
    with pytest.raises(ValueError, match="CRM sandbox's"):
        Launch("erp", database=Path("x"), daily_limit=5)
    with pytest.raises(ValueError, match="ERP sandbox's"):
        Launch("crm", database=Path("x"), delivery_delay=1.0)
