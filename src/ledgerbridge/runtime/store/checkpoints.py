"""Checkpoints of event streams: how far a named consumer has read, saved with its effects.

A consumer saves its position in the same transaction as what it did with the event, so a
restart resumes after the last event whose effects were committed: nothing lost, nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.runtime.store.schema import metadata

stream_checkpoints = sa.Table(
    "stream_checkpoint",
    metadata,
    sa.Column("consumer", sa.String(128), primary_key=True),
    sa.Column("position", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


async def load_checkpoint(conn: AsyncConnection, consumer: str) -> int | None:
    """The last position ``consumer`` saved, or None when it never read."""
    query = sa.select(stream_checkpoints.c.position).where(
        stream_checkpoints.c.consumer == consumer
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def save_checkpoint(conn: AsyncConnection, consumer: str, position: int) -> None:
    """Record that ``consumer`` has handled everything up to ``position``."""
    values = {"consumer": consumer, "position": position, "updated_at": datetime.now(UTC)}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(stream_checkpoints).values(**values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[stream_checkpoints.c.consumer],
            set_={"position": position, "updated_at": values["updated_at"]},
        )
    )
