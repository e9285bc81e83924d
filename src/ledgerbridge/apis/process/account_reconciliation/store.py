"""Reconciliation runs and the differences each found, in the store."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.account_reconciliation.client import (
    Difference,
    DifferenceKind,
    Entity,
    ReconciliationRun,
    Resolution,
    RunSummary,
)
from ledgerbridge.apis.process.account_reconciliation.compare import Finding
from ledgerbridge.runtime.store import metadata

RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"

runs = sa.Table(
    "recon_run",
    metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("entities", sa.JSON(), nullable=False),
    sa.Column("repair", sa.Boolean(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("summary", sa.JSON()),
    sa.Column("error", sa.Text()),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Index("ix_recon_run_started", "started_at"),
)

differences = sa.Table(
    "recon_difference",
    metadata,
    sa.Column("difference_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(36),
        sa.ForeignKey("recon_run.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("entity", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("crm_id", sa.String(64)),
    sa.Column("erp_ids", sa.JSON(), nullable=False),
    sa.Column("field", sa.String(64)),
    sa.Column("crm_value", sa.Text()),
    sa.Column("erp_value", sa.Text()),
    sa.Column("resolution", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("evidence", sa.JSON(), nullable=False),
    sa.Index("ix_recon_difference_run", "run_id", "difference_id"),
)


async def open_run(conn: AsyncConnection, entities: Sequence[Entity], *, repair: bool) -> str:
    """Record a new running run; its id."""
    run_id = str(uuid.uuid4())
    await conn.execute(
        runs.insert().values(
            run_id=run_id,
            entities=[e.value for e in entities],
            repair=repair,
            status=RUNNING,
            started_at=datetime.now(UTC),
        )
    )
    return run_id


async def finish_run(
    conn: AsyncConnection,
    run_id: str,
    *,
    summary: RunSummary,
    found: Sequence[tuple[Finding, Resolution]],
) -> None:
    """Complete a run with its summary and every difference, in one transaction."""
    if found:
        await conn.execute(
            differences.insert(),
            [
                {
                    "run_id": run_id,
                    "entity": f.entity,
                    "kind": f.kind.value,
                    "crm_id": f.crm_id,
                    "erp_ids": list(f.erp_ids),
                    "field": f.field,
                    "crm_value": f.crm_value,
                    "erp_value": f.erp_value,
                    "resolution": resolution.value,
                    "detail": f.detail,
                    "evidence": f.evidence,
                }
                for f, resolution in found
            ],
        )
    await conn.execute(
        runs.update()
        .where(runs.c.run_id == run_id)
        .values(
            status=COMPLETED, summary=summary.model_dump(mode="json"), finished_at=datetime.now(UTC)
        )
    )


async def fail_run(conn: AsyncConnection, run_id: str, error: str) -> None:
    """Mark a run failed; it recorded no differences."""
    await conn.execute(
        runs.update()
        .where(runs.c.run_id == run_id)
        .values(status=FAILED, error=error, finished_at=datetime.now(UTC))
    )


def _run(row: Any) -> ReconciliationRun:
    return ReconciliationRun(
        run_id=row.run_id,
        status=row.status,
        entities=[Entity(e) for e in row.entities],
        repair=row.repair,
        summary=None if row.summary is None else RunSummary.model_validate(row.summary),
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def load_run(conn: AsyncConnection, run_id: str) -> ReconciliationRun | None:
    """The run, or None."""
    row = (await conn.execute(runs.select().where(runs.c.run_id == run_id))).first()
    return None if row is None else _run(row)


async def list_runs(conn: AsyncConnection, *, offset: int, limit: int) -> list[ReconciliationRun]:
    """Runs newest first."""
    query = (
        runs.select().order_by(runs.c.started_at.desc(), runs.c.run_id).offset(offset).limit(limit)
    )
    return [_run(row) for row in await conn.execute(query)]


async def list_differences(
    conn: AsyncConnection,
    run_id: str,
    *,
    after: int,
    limit: int,
    kind: DifferenceKind | None,
    resolution: Resolution | None,
) -> list[Difference]:
    """A run's differences with an id above ``after``, in the order found."""
    query = differences.select().where(
        differences.c.run_id == run_id, differences.c.difference_id > after
    )
    if kind is not None:
        query = query.where(differences.c.kind == kind.value)
    if resolution is not None:
        query = query.where(differences.c.resolution == resolution.value)
    query = query.order_by(differences.c.difference_id).limit(limit)
    return [
        Difference(
            difference_id=row.difference_id,
            run_id=row.run_id,
            entity=row.entity,
            kind=DifferenceKind(row.kind),
            crm_id=row.crm_id,
            erp_ids=list(row.erp_ids),
            field=row.field,
            crm_value=row.crm_value,
            erp_value=row.erp_value,
            resolution=Resolution(row.resolution),
            detail=row.detail,
            evidence=dict(row.evidence),
        )
        for row in await conn.execute(query)
    ]
