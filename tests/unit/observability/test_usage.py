"""API analytics in the store: tallies add up across flushes; percentiles come from buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from ledgerbridge.runtime.observability import UsageLedger, callers_of, flush_usage, usage_days
from ledgerbridge.runtime.store import Store

DAY = datetime(2027, 3, 9, 12, tzinfo=UTC)


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_flushes_add_to_the_day_and_percentiles_follow_the_latencies(store: Store) -> None:
    """Two flushes of one day's calls sum up; p50 and p99 land in the buckets of the calls."""
    ledger = UsageLedger(_Clock(DAY))
    for _ in range(90):
        ledger.record(api="crm-orders", version=1, consumer="o2c", status=200, seconds=0.004)
    assert await flush_usage(ledger, store) == 1
    for _ in range(9):
        ledger.record(api="crm-orders", version=1, consumer="o2c", status=503, seconds=0.3)
    ledger.record(api="crm-orders", version=1, consumer="o2c", status=200, seconds=20.0)
    assert await flush_usage(ledger, store) == 1
    assert await flush_usage(ledger, store) == 0

    (row,) = await usage_days(store, api="crm-orders")
    assert (row.day, row.calls, row.errors) == (date(2027, 3, 9), 100, 9)
    assert 2 < row.p50_ms <= 5
    assert 250 < row.p95_ms <= 500
    assert row.p99_ms >= 500
    assert abs(row.mean_ms - (90 * 4 + 9 * 300 + 20_000) / 100) < 0.01


async def test_callers_of_a_version_are_summed_over_days_busiest_first(store: Store) -> None:
    """Who calls crm-orders v1: each consumer's calls over the window, on how many days."""
    clock = _Clock(DAY)
    ledger = UsageLedger(clock)
    for consumer, calls in (("order-to-cash", 5), ("mobile-app", 2)):
        for _ in range(calls):
            ledger.record(api="crm-orders", version=1, consumer=consumer, status=200, seconds=0.01)
    ledger.record(api="crm-orders", version=2, consumer="customer-portal", status=200, seconds=0.01)
    await flush_usage(ledger, store)
    clock.now = DAY.replace(day=10)
    ledger.record(api="crm-orders", version=1, consumer="mobile-app", status=404, seconds=0.01)
    await flush_usage(ledger, store)

    callers = await callers_of(store, api="crm-orders", version=1, today=date(2027, 3, 10))
    assert [(c.consumer, c.calls, c.errors, c.days_active) for c in callers] == [
        ("order-to-cash", 5, 0, 1),
        ("mobile-app", 3, 1, 2),
    ]
    assert callers[1].last_day == date(2027, 3, 10)
    recent = await callers_of(store, api="crm-orders", version=1, days=1, today=date(2027, 3, 10))
    assert [(c.consumer, c.calls) for c in recent] == [("mobile-app", 1)]


async def test_a_failed_flush_keeps_the_tallies_for_the_next_one(store: Store) -> None:
    """If the store refuses a flush, nothing is lost: the next flush writes it all."""
    ledger = UsageLedger(_Clock(DAY))
    ledger.record(api="crm-orders", version=1, consumer="o2c", status=200, seconds=0.01)
    broken = Store("sqlite+aiosqlite:///:memory:")  # no migrations: the table is missing
    try:
        with pytest.raises(sa.exc.DBAPIError):
            await flush_usage(ledger, broken)
    finally:
        await broken.dispose()
    ledger.record(api="crm-orders", version=1, consumer="o2c", status=200, seconds=0.01)
    await flush_usage(ledger, store)
    (row,) = await usage_days(store)
    assert row.calls == 2
