"""API analytics: calls, errors and latency per consumer, API, major version and day.

Requests are tallied in memory (a ``UsageLedger`` per house, fed by the insight middleware)
and flushed into the ``api_usage_daily`` table by upserts that add to what is there, so any
number of processes can share one store. Latency is kept as counts per fixed bucket, which
add up across flushes and processes; percentiles are read back from the buckets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.runtime.store import Store, metadata

__all__ = [
    "LATENCY_BOUNDS_MS",
    "CallerSummary",
    "UsageDay",
    "UsageLedger",
    "callers_of",
    "flush_usage",
    "usage_days",
    "usage_flusher",
    "usage_table",
]

log = structlog.get_logger("ledgerbridge.analytics")

# Upper bounds of the latency buckets in milliseconds; one more bucket holds the rest.
LATENCY_BOUNDS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
_BUCKETS = (*(f"le_{bound}ms" for bound in LATENCY_BOUNDS_MS), "over")
_COUNTERS = ("calls", "errors", "latency_us", *_BUCKETS)

usage_table = sa.Table(
    "api_usage_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("api", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("calls", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sa.Column("latency_us", sa.BigInteger, nullable=False),
    *(sa.Column(name, sa.BigInteger, nullable=False) for name in _BUCKETS),
    sa.Index("ix_api_usage_daily_api_version_day", "api", "version", "day"),
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Key:
    day: date
    api: str
    version: int
    consumer: str


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    errors: int = 0
    latency_us: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(_BUCKETS))

    def row(self, key: _Key) -> dict[str, Any]:
        return {
            "day": key.day,
            "api": key.api,
            "version": key.version,
            "consumer": key.consumer,
            "calls": self.calls,
            "errors": self.errors,
            "latency_us": self.latency_us,
            **dict(zip(_BUCKETS, self.buckets, strict=True)),
        }


class UsageLedger:
    """Tallies of the requests answered since the last flush.

    Usage::

        ledger = UsageLedger()
        ledger.record(api="crm-orders", version=1, consumer="order-to-cash",
                      status=200, seconds=0.012)
        await flush_usage(ledger, store)
    """

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock
        self._tallies: dict[_Key, _Tally] = {}

    def record(self, *, api: str, version: int, consumer: str, status: int, seconds: float) -> None:
        """Count one answered request on today's (UTC) tally."""
        key = _Key(self._clock().astimezone(UTC).date(), api, version, consumer)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        tally.calls += 1
        tally.errors += status >= 400
        micros = int(seconds * 1_000_000)
        tally.latency_us += micros
        tally.buckets[_bucket_of(micros / 1000)] += 1

    def drain(self) -> list[dict[str, Any]]:
        """The tallies as table rows; the ledger starts again from zero."""
        tallies, self._tallies = self._tallies, {}
        return [tally.row(key) for key, tally in tallies.items()]

    def restore(self, rows: Sequence[dict[str, Any]]) -> None:
        """Put drained rows back, so a failed flush loses nothing."""
        for row in rows:
            key = _Key(row["day"], row["api"], row["version"], row["consumer"])
            tally = self._tallies.setdefault(key, _Tally())
            tally.calls += row["calls"]
            tally.errors += row["errors"]
            tally.latency_us += row["latency_us"]
            for index, name in enumerate(_BUCKETS):
                tally.buckets[index] += row[name]


def _bucket_of(millis: float) -> int:
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if millis <= bound:
            return index
    return len(LATENCY_BOUNDS_MS)


async def flush_usage(ledger: UsageLedger, store: Store) -> int:
    """Add the ledger's tallies to the store; returns how many rows were written."""
    rows = ledger.drain()
    if not rows:
        return 0
    try:
        async with store.engine.begin() as conn:
            await conn.execute(_upsert(conn), rows)
    except Exception:
        ledger.restore(rows)
        raise
    return len(rows)


def _upsert(conn: AsyncConnection) -> sa.Executable:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(usage_table)
    upsert: sa.Executable = insert.on_conflict_do_update(
        index_elements=["day", "api", "version", "consumer"],
        set_={name: usage_table.c[name] + insert.excluded[name] for name in _COUNTERS},
    )
    return upsert


@contextlib.asynccontextmanager
async def usage_flusher(ledger: UsageLedger, store: Store, *, every: float) -> AsyncIterator[None]:
    """Flush ``ledger`` into ``store`` every ``every`` seconds, and once more on the way out."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await flush_usage(ledger, store)
            except Exception as exc:  # the store may be down: keep the tallies, try again later
                log.warning("analytics flush failed", error=repr(exc))

    task = asyncio.create_task(loop(), name="usage-flusher")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await flush_usage(ledger, store)
        except Exception as exc:
            log.warning("analytics lost on shutdown", error=repr(exc), rows=len(ledger.drain()))


@dataclass(frozen=True, slots=True)
class UsageDay:
    """One consumer's use of one API version on one day."""

    day: date
    api: str
    version: int
    consumer: str
    calls: int
    errors: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True, slots=True)
class CallerSummary:
    """How much one consumer called one API version over a window of days."""

    consumer: str
    calls: int
    errors: int
    days_active: int
    first_day: date
    last_day: date
    p95_ms: float


def _percentile(buckets: Sequence[int], quantile: float) -> float:
    """The latency under which ``quantile`` of the calls fell, interpolated in its bucket."""
    total = sum(buckets)
    if total == 0:
        return 0.0
    rank = quantile * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            lower = 0 if index == 0 else LATENCY_BOUNDS_MS[index - 1]
            if index == len(LATENCY_BOUNDS_MS):
                return float(lower)  # past the last bound we only know "more than"
            upper = LATENCY_BOUNDS_MS[index]
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


async def usage_days(
    store: Store,
    *,
    api: str | None = None,
    version: int | None = None,
    consumer: str | None = None,
    since: date | None = None,
) -> list[UsageDay]:
    """The daily usage rows matching the filters, newest day first."""
    query = sa.select(usage_table).order_by(
        usage_table.c.day.desc(), usage_table.c.api, usage_table.c.version, usage_table.c.consumer
    )
    for column, value in (("api", api), ("version", version), ("consumer", consumer)):
        if value is not None:
            query = query.where(usage_table.c[column] == value)
    if since is not None:
        query = query.where(usage_table.c.day >= since)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    result = []
    for row in rows:
        buckets = [row[name] for name in _BUCKETS]
        result.append(
            UsageDay(
                day=row["day"],
                api=row["api"],
                version=row["version"],
                consumer=row["consumer"],
                calls=row["calls"],
                errors=row["errors"],
                mean_ms=row["latency_us"] / row["calls"] / 1000 if row["calls"] else 0.0,
                p50_ms=_percentile(buckets, 0.50),
                p95_ms=_percentile(buckets, 0.95),
                p99_ms=_percentile(buckets, 0.99),
            )
        )
    return result


async def callers_of(
    store: Store, *, api: str, version: int, days: int = 30, today: date | None = None
) -> list[CallerSummary]:
    """Who called ``api`` v``version`` in the last ``days`` days, busiest first."""
    since = (today or _utc_now().date()) - timedelta(days=days - 1)
    per_consumer: dict[str, list[Any]] = {}
    query = sa.select(usage_table).where(
        usage_table.c.api == api, usage_table.c.version == version, usage_table.c.day >= since
    )
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    for row in rows:
        per_consumer.setdefault(row["consumer"], []).append(row)
    summaries = []
    for consumer, consumer_rows in per_consumer.items():
        buckets = [sum(row[name] for row in consumer_rows) for name in _BUCKETS]
        days_seen = sorted(row["day"] for row in consumer_rows)
        summaries.append(
            CallerSummary(
                consumer=consumer,
                calls=sum(row["calls"] for row in consumer_rows),
                errors=sum(row["errors"] for row in consumer_rows),
                days_active=len(days_seen),
                first_day=days_seen[0],
                last_day=days_seen[-1],
                p95_ms=_percentile(buckets, 0.95),
            )
        )
    return sorted(summaries, key=lambda s: (-s.calls, s.consumer))
