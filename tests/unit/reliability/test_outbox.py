"""The transactional outbox and its relay, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest
import sqlalchemy as sa

from ledgerbridge.runtime.messaging import (
    Message,
    OutboxRelay,
    Outgoing,
    add_to_outbox,
    outbox,
    outbox_lag,
)
from ledgerbridge.runtime.store import Store


class RecordingBus:
    """A bus that confirms every publish after ``delay`` seconds and keeps what it got."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.published: list[Outgoing] = []
        self.delay = delay
        self.fail = fail

    async def publish(
        self,
        topic: str,
        message: Message,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        await self.publish_many([Outgoing(topic, message, key, dict(headers or {}))])

    async def publish_many(self, batch: Sequence[Outgoing]) -> None:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.published.extend(batch)

    async def subscribe(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError  # the relay only publishes

    async def close(self) -> None:
        return None


def _message(n: int) -> Message:
    return Message.create(type="order.accepted", source="/tests", data={"n": n})


async def test_rolled_back_transaction_leaves_nothing_to_publish(store: Store) -> None:
    """An outbox row written in a transaction that rolls back is never published."""
    async with store.engine.connect() as conn:
        await conn.begin()
        await add_to_outbox(conn, "orders", _message(1))
        await conn.rollback()
    bus = RecordingBus()
    assert await OutboxRelay(store.engine, bus).drain() == 0
    assert bus.published == []


async def test_relay_publishes_in_order_and_marks_rows_sent(store: Store) -> None:
    """Committed rows are published oldest first with key and headers, then marked sent."""
    messages = [_message(n) for n in range(25)]
    async with store.engine.begin() as conn:
        for message in messages:
            await add_to_outbox(conn, "orders", message, key="c1", headers={"x-n": "1"})
    bus = RecordingBus()
    relay = OutboxRelay(store.engine, bus, batch_size=10)
    assert await relay.drain() == 25
    assert [o.message for o in bus.published] == messages
    assert {(o.topic, o.key, tuple(o.headers.items())) for o in bus.published} == {
        ("orders", "c1", (("x-n", "1"),))
    }
    assert await relay.drain() == 0
    async with store.engine.connect() as conn:
        lag = await outbox_lag(conn)
        unsent = (
            await conn.execute(sa.select(sa.func.count()).where(outbox.c.sent_at.is_(None)))
        ).scalar()
    assert (lag.pending, lag.seconds, unsent) == (0, 0.0, 0)
    assert relay.last_lag is not None


async def test_lag_counts_pending_rows_and_their_age(store: Store) -> None:
    """The lag reports the pending rows and how old the oldest is."""
    async with store.engine.begin() as conn:
        await add_to_outbox(conn, "orders", _message(1))
        await add_to_outbox(conn, "orders", _message(2))
    await asyncio.sleep(0.05)
    async with store.engine.connect() as conn:
        lag = await outbox_lag(conn)
    assert lag.pending == 2
    assert lag.seconds >= 0.05


async def test_failed_publish_keeps_rows_pending_with_the_error(store: Store) -> None:
    """When the broker is down nothing is marked sent and the error is kept for the operator."""
    async with store.engine.begin() as conn:
        await add_to_outbox(conn, "orders", _message(1))
    relay = OutboxRelay(store.engine, RecordingBus(fail=True))
    assert await relay.run_once() == 0
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.select(outbox.c.attempts, outbox.c.last_error))).one()
        assert (await outbox_lag(conn)).pending == 1
    assert row.attempts == 1
    assert row.last_error == "ConnectionError: broker unreachable"
    bus = RecordingBus()
    assert await OutboxRelay(store.engine, bus).drain() == 1


async def test_duplicate_message_id_is_refused(store: Store) -> None:
    """One message id enters the outbox once: a second insert fails the transaction."""
    message = _message(1)
    async with store.engine.begin() as conn:
        await add_to_outbox(conn, "orders", message)
    with pytest.raises(sa.exc.IntegrityError):
        async with store.engine.begin() as conn:
            await add_to_outbox(conn, "orders", message)


@pytest.mark.postgres
async def test_several_relays_on_postgres_publish_each_row_once() -> None:
    """Four relays racing over one PostgreSQL outbox publish every row exactly once."""
    from tests.conftest import fresh_postgres_database

    async with fresh_postgres_database() as url:
        store = Store(url)
        await store.upgrade()
        try:
            async with store.engine.begin() as conn:
                for n in range(400):
                    await add_to_outbox(conn, "orders", _message(n))
            bus = RecordingBus(delay=0.005)
            relays = [OutboxRelay(store.engine, bus, batch_size=20) for _ in range(4)]
            counts = await asyncio.gather(*(relay.drain() for relay in relays))
        finally:
            await store.dispose()
    ids = [o.message.id for o in bus.published]
    assert len(ids) == 400
    assert len(set(ids)) == 400
    assert sum(counts) == 400
    assert sum(1 for c in counts if c) > 1
