"""Idempotent Consumer: the inbox remembers which message each consumer has handled.

At-least-once delivery plus ``consumed_once`` in the handler's own transaction gives an
effect exactly once: the inbox row and the state change commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledgerbridge.runtime.messaging._bus import Delivery, Handler
from ledgerbridge.runtime.store.schema import metadata

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("consumer", sa.String(128), primary_key=True),
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


async def consumed_once(conn: AsyncConnection, consumer: str, message_id: str) -> bool:
    """Claim ``message_id`` for ``consumer`` in the caller's transaction.

    Returns True the first time (go on and apply the effect), False when the message was
    already consumed. Concurrent claims of one message are settled by the primary key: the
    second waits for the first transaction and gets False if it commits, True if it rolls back.

    Args:
        conn: The connection whose transaction holds the handler's state change.
        consumer: The consumer's stable name (usually its group).
        message_id: The envelope id.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(inbox)
        .values(consumer=consumer, message_id=message_id, consumed_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
    )
    result = await conn.execute(statement)
    return result.rowcount == 1


async def already_consumed(conn: AsyncConnection, consumer: str, message_id: str) -> bool:
    """Whether ``consumer`` has consumed ``message_id`` (a read, claiming nothing): for a
    handler that calls other services before its transaction and would skip a repeat early."""
    found = await conn.execute(
        sa.select(inbox.c.message_id).where(
            inbox.c.consumer == consumer, inbox.c.message_id == message_id
        )
    )
    return found.first() is not None


def idempotent_consumer(
    engine: AsyncEngine,
    consumer: str,
    handler: Callable[[AsyncConnection, Delivery], Awaitable[None]],
) -> Handler:
    """Wrap ``handler`` so each message runs once for ``consumer``, in one transaction.

    The wrapped handler gets the open connection; its writes and the inbox row commit
    together, and a redelivered message is acknowledged without running it again.
    """

    async def run(delivery: Delivery) -> None:
        async with engine.begin() as conn:
            if await consumed_once(conn, consumer, delivery.message.id):
                await handler(conn, delivery)

    return run


async def forget_consumed(conn: AsyncConnection, *, older_than: timedelta) -> int:
    """Delete inbox rows older than ``older_than``; returns how many went.

    Keep them longer than any redelivery can arrive (the broker's retention of messages).
    """
    cutoff = datetime.now(UTC) - older_than
    result = await conn.execute(inbox.delete().where(inbox.c.consumed_at < cutoff))
    return result.rowcount
