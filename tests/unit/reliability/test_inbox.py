"""Inbox deduplication: at-least-once delivery with one effect, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.runtime.messaging import (
    Delivery,
    DeliveryPolicy,
    FailedDelivery,
    InMemoryBus,
    Message,
    consumed_once,
    forget_consumed,
    idempotent_consumer,
)
from ledgerbridge.runtime.store import Store

effects = sa.Table("reliability_effects", sa.MetaData(), sa.Column("message_id", sa.String(128)))


async def _create_effects(store: Store) -> None:
    async with store.engine.begin() as conn:
        await conn.run_sync(effects.metadata.create_all)


async def test_a_message_is_claimed_once_per_consumer(store: Store) -> None:
    """The first claim wins, a second by the same consumer loses, another consumer wins."""
    async with store.engine.begin() as conn:
        assert await consumed_once(conn, "billing", "m-1") is True
        assert await consumed_once(conn, "billing", "m-1") is False
        assert await consumed_once(conn, "audit", "m-1") is True


async def test_a_rolled_back_claim_can_be_made_again(store: Store) -> None:
    """A claim whose transaction rolls back is forgotten, so the redelivery runs."""
    async with store.engine.connect() as conn:
        await conn.begin()
        assert await consumed_once(conn, "billing", "m-2")
        await conn.rollback()
    async with store.engine.begin() as conn:
        assert await consumed_once(conn, "billing", "m-2") is True


async def test_redelivered_messages_have_one_effect(store: Store) -> None:
    """Each message delivered three times through the bus changes state once."""
    await _create_effects(store)

    async def apply(conn: AsyncConnection, delivery: Delivery) -> None:
        await conn.execute(effects.insert().values(message_id=delivery.message.id))

    async def sink(failure: FailedDelivery) -> None:
        raise AssertionError(failure)

    bus = InMemoryBus(dead_letters=sink, policy=DeliveryPolicy(backoff=0.001))
    await bus.subscribe(
        "orders", idempotent_consumer(store.engine, "billing", apply), group="billing"
    )
    messages = [Message.create(type="order.accepted", source="/tests") for _ in range(10)]
    for message in messages * 3:
        await bus.publish("orders", message)
    await bus.join()
    await bus.close()
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(effects.c.message_id))).scalars().all()
    assert sorted(rows) == sorted(m.id for m in messages)


async def test_concurrent_claims_of_one_message_let_one_through(store: Store) -> None:
    """Twenty handlers racing on one message id apply its effect once."""
    await _create_effects(store)

    async def claim() -> None:
        async with store.engine.begin() as conn:
            if await consumed_once(conn, "billing", "m-race"):
                await conn.execute(effects.insert().values(message_id="m-race"))

    await asyncio.gather(*(claim() for _ in range(20)))
    async with store.engine.connect() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(effects))).scalar()
    assert count == 1


async def test_old_inbox_rows_can_be_forgotten(store: Store) -> None:
    """Rows older than the retention are deleted; younger ones stay."""
    async with store.engine.begin() as conn:
        await consumed_once(conn, "billing", "m-old")
    await asyncio.sleep(0.02)
    async with store.engine.begin() as conn:
        assert await forget_consumed(conn, older_than=timedelta(hours=1)) == 0
        assert await forget_consumed(conn, older_than=timedelta(milliseconds=1)) == 1
