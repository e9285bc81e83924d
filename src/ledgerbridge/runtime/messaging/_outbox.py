"""Guaranteed Delivery: the transactional outbox and the relay that empties it.

A state change and the events it causes commit together: ``add_to_outbox`` writes the event
in the caller's transaction, and the relay publishes committed rows afterwards, in order,
marking each sent once the broker confirmed it. A crash between publish and mark means the
row is published again, so delivery is at least once; consumers deduplicate by message id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledgerbridge.runtime.messaging._bus import EventBus, Outgoing
from ledgerbridge.runtime.messaging._envelope import Message
from ledgerbridge.runtime.observability import observe_outbox_round
from ledgerbridge.runtime.store.schema import metadata

log = structlog.get_logger("ledgerbridge.outbox")

# SQLite only auto-increments an INTEGER PRIMARY KEY (its rowid), not a BIGINT one.
_Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(128), nullable=False, unique=True),
    sa.Column("topic", sa.String(256), nullable=False),
    sa.Column("key", sa.String(256)),
    sa.Column("headers", sa.JSON(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text()),
    sa.Index("ix_outbox_pending", "sent_at", "seq"),
)


async def add_to_outbox(
    conn: AsyncConnection,
    topic: str,
    message: Message,
    *,
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Write ``message`` to the outbox in the caller's transaction.

    Args:
        conn: The connection whose transaction also holds the state change.
        topic: Where the relay will publish the message.
        message: The envelope; its id is unique in the outbox.
        key: Ordering key passed to the bus.
        headers: Transport headers passed to the bus.
    """
    await conn.execute(
        outbox.insert().values(
            message_id=message.id,
            topic=topic,
            key=key,
            headers=dict(headers or {}),
            body=message.model_dump_json(),
            created_at=datetime.now(UTC),
        )
    )


@dataclass(frozen=True, slots=True)
class OutboxLag:
    """How far behind the relay is: rows not yet sent and the age of the oldest one."""

    pending: int
    oldest_age: timedelta | None

    @property
    def seconds(self) -> float:
        """The oldest pending row's age in seconds (0 when the outbox is drained)."""
        return self.oldest_age.total_seconds() if self.oldest_age else 0.0


async def outbox_lag(conn: AsyncConnection) -> OutboxLag:
    """Measure the outbox lag now."""
    query = sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
        outbox.c.sent_at.is_(None)
    )
    count, oldest = (await conn.execute(query)).one()
    if oldest is None:
        return OutboxLag(pending=0, oldest_age=None)
    if oldest.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        oldest = oldest.replace(tzinfo=UTC)
    return OutboxLag(pending=int(count), oldest_age=datetime.now(UTC) - oldest)


class OutboxRelay:
    """Publishes committed outbox rows to the bus, oldest first, and marks them sent.

    On PostgreSQL several relays may run side by side: each locks its batch with
    ``FOR UPDATE SKIP LOCKED`` and the others take the next rows. Order is then kept within
    a batch, not across relays. On SQLite run a single relay.

    Usage::

        relay = OutboxRelay(store.engine, bus, batch_size=200)
        task = asyncio.create_task(relay.run())   # until cancelled
        await relay.drain()                       # or: publish everything pending, then return
    """

    def __init__(
        self,
        engine: AsyncEngine,
        bus: EventBus,
        *,
        batch_size: int = 100,
        poll_interval: float = 0.2,
    ) -> None:
        self._engine = engine
        self._bus = bus
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._skip_locked = engine.dialect.name == "postgresql"
        self.published = 0
        self.last_lag: timedelta | None = None

    async def run_once(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        query = (
            sa.select(
                outbox.c.seq,
                outbox.c.topic,
                outbox.c.key,
                outbox.c.headers,
                outbox.c.body,
                outbox.c.created_at,
            )
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(self._batch_size)
        )
        if self._skip_locked:
            query = query.with_for_update(skip_locked=True)
        async with self._engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                observe_outbox_round(0, 0.0)
                return 0
            batch = [
                Outgoing(
                    row.topic,
                    Message.model_validate_json(row.body),
                    row.key,
                    _headers(row.headers),
                )
                for row in rows
            ]
            now = datetime.now(UTC)
            try:
                await self._bus.publish_many(batch)
            except Exception as exc:
                # Nothing is marked sent: the batch is published again, in order, next time.
                error = f"{type(exc).__name__}: {exc}"
                await conn.execute(
                    outbox.update()
                    .where(outbox.c.seq.in_([row.seq for row in rows]))
                    .values(attempts=outbox.c.attempts + 1, last_error=error)
                )
                log.warning("outbox publish failed", rows=len(rows), error=str(exc))
                return 0
            await conn.execute(
                outbox.update()
                .where(outbox.c.seq.in_([row.seq for row in rows]))
                .values(sent_at=now, attempts=outbox.c.attempts + 1, last_error=None)
            )
        oldest = rows[0].created_at
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        self.last_lag = now - oldest
        self.published += len(rows)
        observe_outbox_round(len(rows), self.last_lag.total_seconds())
        return len(rows)

    async def drain(self) -> int:
        """Publish batches until none is pending; returns how many were published."""
        total = 0
        while count := await self.run_once():
            total += count
        return total

    async def run(self) -> None:
        """Publish forever, sleeping ``poll_interval`` whenever the outbox is empty."""
        while True:
            if await self.run_once() == 0:
                await asyncio.sleep(self._poll_interval)


def _headers(value: object) -> dict[str, str]:
    assert isinstance(value, dict)
    return {str(k): str(v) for k, v in value.items()}
