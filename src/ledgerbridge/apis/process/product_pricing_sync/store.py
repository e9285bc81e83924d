"""Sync run records: one row per run, with its counts and the records it could not write.

At most one run is running at a time: a partial unique index admits a single "running" row,
so a second start (another request, the schedule, another process) is refused, not doubled.
A run left running by a process that died is marked abandoned once it is older than
`STALE_RUN`, and no longer blocks.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.product_pricing_sync.client import SyncCounts, SyncFailure, SyncRun
from ledgerbridge.runtime.store import metadata

RUNNING = "running"
STALE_RUN = timedelta(minutes=30)

runs = sa.Table(
    "pps_run",
    metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("products", sa.JSON(), nullable=False),
    sa.Column("prices", sa.JSON(), nullable=False),
    sa.Column("failures", sa.JSON(), nullable=False),
    sa.Column("error", sa.Text()),
    sa.Index("ix_pps_run_started", "started_at"),
    sa.Index(
        "uq_pps_run_one_running",
        "status",
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    ),
)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _run(row: sa.Row[Any]) -> SyncRun:
    return SyncRun(
        run_id=row.run_id,
        trigger=row.trigger,
        status=row.status,
        started_at=_utc(row.started_at),
        finished_at=None if row.finished_at is None else _utc(row.finished_at),
        products=SyncCounts.model_validate(row.products),
        prices=SyncCounts.model_validate(row.prices),
        failures=[SyncFailure.model_validate(f) for f in row.failures],
        error=row.error,
    )


async def start_run(conn: AsyncConnection, trigger: str) -> str | None:
    """Open a running run; None when another one is running (the caller's transaction must
    be fresh: a refused insert leaves it unusable on PostgreSQL, so it runs in a savepoint)."""
    now = datetime.now(UTC)
    await conn.execute(
        runs.update()
        .where(runs.c.status == RUNNING, runs.c.started_at < now - STALE_RUN)
        .values(status="abandoned", finished_at=now, error="the process running it stopped")
    )
    run_id = str(uuid.uuid4())
    empty = SyncCounts().model_dump()
    try:
        async with conn.begin_nested():
            await conn.execute(
                runs.insert().values(
                    run_id=run_id,
                    trigger=trigger,
                    status=RUNNING,
                    started_at=now,
                    products=empty,
                    prices=empty,
                    failures=[],
                )
            )
    except sa.exc.IntegrityError:
        return None
    return run_id


async def save_progress(
    conn: AsyncConnection,
    run_id: str,
    *,
    products: SyncCounts,
    prices: SyncCounts,
    failures: list[SyncFailure],
    status: str = RUNNING,
    error: str | None = None,
) -> None:
    """Record a run's counts so far; a status other than running finishes it."""
    await conn.execute(
        runs.update()
        .where(runs.c.run_id == run_id)
        .values(
            products=products.model_dump(),
            prices=prices.model_dump(),
            failures=[f.model_dump() for f in failures],
            status=status,
            error=error,
            finished_at=None if status == RUNNING else datetime.now(UTC),
        )
    )


async def load_run(conn: AsyncConnection, run_id: str) -> SyncRun | None:
    """One run by its id, if there is one."""
    row = (await conn.execute(sa.select(runs).where(runs.c.run_id == run_id))).first()
    return None if row is None else _run(row)


async def list_runs(conn: AsyncConnection, *, offset: int, limit: int) -> list[SyncRun]:
    """Runs newest first."""
    query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id)
    return [_run(row) for row in await conn.execute(query.offset(offset).limit(limit))]
