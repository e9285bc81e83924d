"""Migration runs and their committed batches, in the store.

A batch is committed with the run's new checkpoint and counters in one transaction, and only
when the run's checkpoint is still the one the batch started from: two runners of one run (a
resume racing a runner thought dead) never record the same batch twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.historical_migration.client import (
    BatchFailure,
    MigrationBatch,
    MigrationEntity,
    MigrationRun,
    Progress,
    RunStatus,
    StartMigration,
)
from ledgerbridge.runtime.store import metadata

runs = sa.Table(
    "migration_run",
    metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("target", sa.String(16), nullable=False),
    sa.Column("entities", sa.JSON(), nullable=False),
    sa.Column("batch_size", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("checkpoint", sa.String(512)),
    sa.Column("batches", sa.Integer(), nullable=False),
    sa.Column("read", sa.Integer(), nullable=False),
    sa.Column("written", sa.Integer(), nullable=False),
    sa.Column("failed", sa.Integer(), nullable=False),
    sa.Column("reconciled", sa.Integer(), nullable=False),
    sa.Column("error", sa.Text()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Index("ix_migration_run_created", "created_at"),
)

batches = sa.Table(
    "migration_batch",
    metadata,
    sa.Column(
        "run_id",
        sa.String(36),
        sa.ForeignKey("migration_run.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("sequence", sa.Integer(), primary_key=True),
    sa.Column("cursor_in", sa.String(512)),
    sa.Column("cursor_out", sa.String(512)),
    sa.Column("read", sa.Integer(), nullable=False),
    sa.Column("written", sa.Integer(), nullable=False),
    sa.Column("failed", sa.Integer(), nullable=False),
    sa.Column("reconciled", sa.Integer(), nullable=False),
    sa.Column("failures", sa.JSON(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch did, to be committed with the run's new checkpoint."""

    sequence: int
    cursor_in: str | None
    cursor_out: str | None
    read: int
    written: int
    reconciled: int
    failures: list[BatchFailure]


def _run(row: Any) -> MigrationRun:
    return MigrationRun(
        run_id=row.run_id,
        status=RunStatus(row.status),
        source=row.source,
        target=row.target,
        entities=[MigrationEntity(e) for e in row.entities],
        batch_size=row.batch_size,
        progress=Progress(
            batches=row.batches,
            read=row.read,
            written=row.written,
            failed=row.failed,
            reconciled=row.reconciled,
        ),
        checkpoint=row.checkpoint,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


async def open_run(conn: AsyncConnection, request: StartMigration, key: str) -> MigrationRun:
    """A new running run under ``key`` (IntegrityError when the key started one already)."""
    now = datetime.now(UTC)
    run_id = str(uuid.uuid4())
    await conn.execute(
        runs.insert().values(
            run_id=run_id,
            idempotency_key=key,
            source=request.source,
            target=request.target,
            entities=[e.value for e in request.entities],
            batch_size=request.batch_size,
            status=RunStatus.RUNNING.value,
            batches=0,
            read=0,
            written=0,
            failed=0,
            reconciled=0,
            created_at=now,
            updated_at=now,
        )
    )
    run = await load_run(conn, run_id)
    assert run is not None
    return run


async def load_run(conn: AsyncConnection, run_id: str) -> MigrationRun | None:
    """The run, or None."""
    row = (await conn.execute(runs.select().where(runs.c.run_id == run_id))).first()
    return None if row is None else _run(row)


async def load_run_by_key(conn: AsyncConnection, key: str) -> MigrationRun | None:
    """The run started under an idempotency key, or None."""
    row = (await conn.execute(runs.select().where(runs.c.idempotency_key == key))).first()
    return None if row is None else _run(row)


async def list_runs(conn: AsyncConnection, *, offset: int, limit: int) -> list[MigrationRun]:
    """Runs newest first."""
    query = runs.select().order_by(runs.c.created_at.desc(), runs.c.run_id)
    return [_run(row) for row in await conn.execute(query.offset(offset).limit(limit))]


async def list_batches(
    conn: AsyncConnection, run_id: str, *, after: int, limit: int
) -> list[MigrationBatch]:
    """A run's batches after sequence ``after``, in order."""
    query = (
        batches.select()
        .where(batches.c.run_id == run_id, batches.c.sequence > after)
        .order_by(batches.c.sequence)
        .limit(limit)
    )
    return [
        MigrationBatch(
            sequence=row.sequence,
            read=row.read,
            written=row.written,
            failed=row.failed,
            reconciled=row.reconciled,
            failures=[BatchFailure.model_validate(f) for f in row.failures],
            at=row.at,
        )
        for row in await conn.execute(query)
    ]


async def set_status(
    conn: AsyncConnection,
    run_id: str,
    *,
    expected: tuple[RunStatus, ...],
    to: RunStatus,
    error: str | None = None,
) -> bool:
    """Move the run to ``to`` if it is in one of ``expected``; whether it moved."""
    now = datetime.now(UTC)
    finished = None if to is RunStatus.RUNNING else now
    result = await conn.execute(
        runs.update()
        .where(runs.c.run_id == run_id, runs.c.status.in_([s.value for s in expected]))
        .values(status=to.value, error=error, updated_at=now, finished_at=finished)
    )
    return result.rowcount == 1


async def commit_batch(conn: AsyncConnection, run_id: str, outcome: BatchOutcome) -> bool:
    """Record a batch and advance the run's checkpoint and counters; False when the run's
    checkpoint moved on meanwhile (another runner recorded this batch)."""
    now = datetime.now(UTC)
    failed = len(outcome.failures)
    advanced = await conn.execute(
        runs.update()
        .where(
            runs.c.run_id == run_id,
            runs.c.checkpoint.is_(None)
            if outcome.cursor_in is None
            else runs.c.checkpoint == outcome.cursor_in,
            runs.c.batches == outcome.sequence - 1,
        )
        .values(
            checkpoint=outcome.cursor_out,
            batches=runs.c.batches + 1,
            read=runs.c.read + outcome.read,
            written=runs.c.written + outcome.written,
            failed=runs.c.failed + failed,
            reconciled=runs.c.reconciled + outcome.reconciled,
            updated_at=now,
        )
    )
    if advanced.rowcount != 1:
        return False
    await conn.execute(
        batches.insert().values(
            run_id=run_id,
            sequence=outcome.sequence,
            cursor_in=outcome.cursor_in,
            cursor_out=outcome.cursor_out,
            read=outcome.read,
            written=outcome.written,
            failed=failed,
            reconciled=outcome.reconciled,
            failures=[f.model_dump() for f in outcome.failures],
            at=now,
        )
    )
    return True
