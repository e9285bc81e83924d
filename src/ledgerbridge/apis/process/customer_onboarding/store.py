"""Durable state of customer onboarding: each onboarded customer with the values both sides
agreed on at the last sync (the baseline a change is measured against), and the conflict
queue.

At most one conflict per customer and field is open at a time (a partial unique index), so
syncing again while one waits raises no second item.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.customer_onboarding.client import Side, SyncConflict
from ledgerbridge.runtime.store import metadata

OPEN = "open"
RESOLVED = "resolved"

customers = sa.Table(
    "co_customer",
    metadata,
    sa.Column("crm_id", sa.String(64), primary_key=True),
    sa.Column("erp_id", sa.String(64), nullable=False),
    sa.Column("baseline", sa.JSON(), nullable=False),
    sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
)

conflicts = sa.Table(
    "co_conflict",
    metadata,
    sa.Column("conflict_id", sa.String(36), primary_key=True),
    sa.Column(
        "crm_id",
        sa.String(64),
        sa.ForeignKey("co_customer.crm_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("erp_id", sa.String(64), nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("master", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("base_value", sa.JSON()),
    sa.Column("crm_value", sa.JSON()),
    sa.Column("erp_value", sa.JSON()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_by", sa.String(128)),
    sa.Column("chosen_side", sa.String(8)),
    sa.Column("note", sa.Text()),
    sa.Index("ix_co_conflict_status", "status", "created_at"),
    sa.Index(
        "uq_co_conflict_open_field",
        "crm_id",
        "field",
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    ),
)


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _conflict(row: sa.Row[Any]) -> SyncConflict:
    return SyncConflict(
        conflict_id=row.conflict_id,
        crm_id=row.crm_id,
        erp_id=row.erp_id,
        field=row.field,
        master=Side(row.master),
        kind=row.kind,
        reason=row.reason,
        base_value=row.base_value,
        crm_value=row.crm_value,
        erp_value=row.erp_value,
        status=row.status,
        created_at=_utc(row.created_at),
        resolved_at=_utc(row.resolved_at),
        resolved_by=row.resolved_by,
        chosen_side=None if row.chosen_side is None else Side(row.chosen_side),
        note=row.note,
    )


async def load_customer(conn: AsyncConnection, crm_id: str) -> sa.Row[Any] | None:
    """The onboarded customer of a CRM account (erp_id, baseline, times), if onboarded."""
    return (await conn.execute(sa.select(customers).where(customers.c.crm_id == crm_id))).first()


async def add_customer(
    conn: AsyncConnection, crm_id: str, erp_id: str, baseline: dict[str, Any]
) -> datetime:
    """Record an onboarded customer with its first baseline; returns when."""
    now = datetime.now(UTC)
    await conn.execute(
        customers.insert().values(
            crm_id=crm_id, erp_id=erp_id, baseline=baseline, onboarded_at=now, synced_at=now
        )
    )
    return now


async def save_baseline(conn: AsyncConnection, crm_id: str, baseline: dict[str, Any]) -> None:
    """The values both sides now agree on."""
    await conn.execute(
        customers.update()
        .where(customers.c.crm_id == crm_id)
        .values(baseline=baseline, synced_at=datetime.now(UTC))
    )


async def open_conflicts_of(conn: AsyncConnection, crm_id: str) -> dict[str, SyncConflict]:
    """The open conflicts of a customer, by field."""
    rows = await conn.execute(
        sa.select(conflicts).where(conflicts.c.crm_id == crm_id, conflicts.c.status == OPEN)
    )
    return {row.field: _conflict(row) for row in rows}


async def open_conflict(conn: AsyncConnection, **values: Any) -> str:
    """Queue a conflict; returns its id."""
    conflict_id = str(uuid.uuid4())
    await conn.execute(
        conflicts.insert().values(
            conflict_id=conflict_id, status=OPEN, created_at=datetime.now(UTC), **values
        )
    )
    return conflict_id


async def load_conflict(conn: AsyncConnection, conflict_id: str) -> SyncConflict | None:
    """One conflict by its id, if there is one."""
    query = sa.select(conflicts).where(conflicts.c.conflict_id == conflict_id)
    row = (await conn.execute(query)).first()
    return None if row is None else _conflict(row)


async def list_conflicts(
    conn: AsyncConnection, *, status: str | None, offset: int, limit: int
) -> list[SyncConflict]:
    """Conflicts oldest first, optionally with one status."""
    query = sa.select(conflicts).order_by(conflicts.c.created_at, conflicts.c.conflict_id)
    if status is not None:
        query = query.where(conflicts.c.status == status)
    return [_conflict(row) for row in await conn.execute(query.offset(offset).limit(limit))]


async def close_conflict(
    conn: AsyncConnection, conflict_id: str, *, side: Side, actor: str, note: str | None
) -> bool:
    """Mark an open conflict resolved in favour of ``side``; False when it was not open."""
    result = await conn.execute(
        conflicts.update()
        .where(conflicts.c.conflict_id == conflict_id, conflicts.c.status == OPEN)
        .values(
            status=RESOLVED,
            resolved_at=datetime.now(UTC),
            resolved_by=actor,
            chosen_side=side.value,
            note=note,
        )
    )
    return result.rowcount == 1
