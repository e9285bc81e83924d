"""The crosswalk: one row per record that crosses systems (canonical id <-> CRM id <-> ERP id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.store.schema import crosswalk


@dataclass(frozen=True, slots=True)
class CrosswalkEntry:
    """The ids one record has in each system."""

    canonical_id: str
    entity: str
    crm_id: str | None
    erp_id: str | None


def _entry(row: Sequence[Any]) -> CrosswalkEntry:
    return CrosswalkEntry(canonical_id=row[0], entity=row[1], crm_id=row[2], erp_id=row[3])


_COLUMNS = (crosswalk.c.canonical_id, crosswalk.c.entity, crosswalk.c.crm_id, crosswalk.c.erp_id)


def _insert_if_absent(conn: AsyncConnection) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(crosswalk).on_conflict_do_nothing()
    return sqlite.insert(crosswalk).on_conflict_do_nothing()


async def find_link(
    conn: AsyncConnection, entity: str, *, crm_id: str | None = None, erp_id: str | None = None
) -> CrosswalkEntry | None:
    """The crosswalk row of ``entity`` with the given CRM id or ERP id, if any."""
    if crm_id is None and erp_id is None:
        raise ValueError("find_link needs a crm_id or an erp_id")
    query = sa.select(*_COLUMNS).where(crosswalk.c.entity == entity)
    query = query.where(
        crosswalk.c.crm_id == crm_id if crm_id is not None else crosswalk.c.erp_id == erp_id
    )
    row = (await conn.execute(query)).first()
    return _entry(row) if row else None


async def link(
    conn: AsyncConnection, entity: str, *, crm_id: str, erp_id: str | None = None
) -> CrosswalkEntry:
    """Record that ``crm_id`` and ``erp_id`` are the same ``entity``; returns the row.

    Creates the row on first sight and fills in the ERP id later; refuses to re-point an
    existing link to another ERP record.
    """
    now = datetime.now(UTC)
    # Insert-if-absent in one statement: two requests linking the same record at once both
    # succeed, and both read back the one row that won.
    await conn.execute(
        _insert_if_absent(conn).values(
            canonical_id=str(uuid.uuid4()),
            entity=entity,
            crm_id=crm_id,
            erp_id=erp_id,
            created_at=now,
            updated_at=now,
        )
    )
    existing = await find_link(conn, entity, crm_id=crm_id)
    if existing is None:
        raise LedgerbridgeError(f"{entity} ERP id {erp_id} is already linked to another CRM id")
    if erp_id is None or existing.erp_id == erp_id:
        return existing
    if existing.erp_id is not None:
        raise LedgerbridgeError(
            f"{entity} {crm_id} is already linked to ERP id {existing.erp_id}, not {erp_id}"
        )
    await conn.execute(
        crosswalk.update()
        .where(crosswalk.c.canonical_id == existing.canonical_id)
        .values(erp_id=erp_id, updated_at=now)
    )
    return CrosswalkEntry(existing.canonical_id, entity, crm_id, erp_id)
