"""The brokers' own give-up mechanisms land in our dead letters (consumers that crash)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import aio_pika
import nats
import pytest
import sqlalchemy as sa
from nats.js import api
from tests.integration.brokers.conftest import FAST, NATS_URL, RABBITMQ_URL, Broker, open_broker

from ledgerbridge.runtime.dead_letters import DeadLetter, DeadLetterFilter, list_dead_letters
from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.messaging import Delivery, Message, NatsBus, delivery_failure

WAIT = 20.0


async def _one_dead_letter(broker: Broker) -> list[DeadLetter]:
    async def poll() -> list[DeadLetter]:
        while True:
            async with broker.store.engine.connect() as conn:
                letters = await list_dead_letters(conn, DeadLetterFilter())
            if letters:
                return list(letters)
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), WAIT)


async def test_rabbitmq_delivery_limit_is_recorded_as_a_dead_letter(rabbitmq: Broker) -> None:
    """A message whose consumers keep dying is dead-lettered by the broker and recorded by us."""
    bus = await rabbitmq.open()

    async def never_called(delivery: Delivery) -> None:
        raise AssertionError(delivery)

    subscription = await rabbitmq.subscribe(bus, "orders", never_called, group="crashy")
    await subscription.close()  # leaves the queue, with its delivery limit and DLX, in place
    message = Message.create(type="order.accepted", source="/tests", subject="case-9")
    await bus.publish("orders", message)
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{rabbitmq.namespace}:crashy:orders")
        for _ in range(FAST.broker_limit + 1):  # each nack with requeue: a consumer died
            incoming = await queue.get(timeout=5, fail=False)
            if incoming is None:
                break
            await incoming.nack(requeue=True)
    [letter] = await _one_dead_letter(rabbitmq)
    assert letter.message() == message
    assert letter.reason == "broker: delivery_limit"
    assert (letter.consumer, letter.source, letter.case_id) == ("crashy", "orders", "case-9")


async def test_a_queue_declared_with_another_delivery_limit_is_consumed_as_it_is(
    rabbitmq: Broker,
) -> None:
    """A group's queue left by a version with another delivery limit: the broker refuses to
    change it, and the bus consumes it as it is rather than failing to subscribe."""
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        rabbitmq.queues.append(f"{rabbitmq.namespace}:ledger:orders")
        await channel.declare_queue(
            f"{rabbitmq.namespace}:ledger:orders",
            durable=True,
            arguments={"x-queue-type": "quorum", "x-delivery-limit": FAST.max_deliver},
        )
    bus = await rabbitmq.open()
    handled: asyncio.Queue[Message] = asyncio.Queue()

    async def keep(delivery: Delivery) -> None:
        await handled.put(delivery.message)

    await rabbitmq.subscribe(bus, "orders", keep, group="ledger")
    message = Message.create(type="order.accepted", source="/tests", subject="case-6")
    await bus.publish("orders", message)
    assert await asyncio.wait_for(handled.get(), WAIT) == message


async def test_jetstream_max_deliveries_is_recorded_as_a_dead_letter(jetstream: Broker) -> None:
    """A message never acked within max_deliver deliveries is fetched back and recorded."""
    bus = await jetstream.open()
    assert isinstance(bus, NatsBus)
    message = Message.create(type="order.accepted", source="/tests", subject="case-8")
    client = await nats.connect(NATS_URL)
    try:
        js = client.jetstream()
        config = api.ConsumerConfig(
            durable_name="crashy",
            description=json.dumps({"group": "crashy", "topic": "orders"}),
            max_deliver=2,
            ack_wait=0.5,
            filter_subject=bus.subject("orders"),
        )
        pull = await js.pull_subscribe(
            bus.subject("orders"), durable="crashy", stream=bus.stream, config=config
        )
        await bus.publish("orders", message)
        for _ in range(2):  # fetched and never acked: the consumer "died" each time
            await pull.fetch(batch=1, timeout=5)
            await asyncio.sleep(0.6)
        # JetStream gives up when it would deliver a third time, i.e. on the next pull.
        with contextlib.suppress(nats.errors.TimeoutError):
            await pull.fetch(batch=1, timeout=1)
        [letter] = await _one_dead_letter(jetstream)
    finally:
        await client.close()
    assert letter.message() == message
    assert letter.reason == "broker: max deliveries"
    assert (letter.consumer, letter.source, letter.case_id) == ("crashy", "orders", "case-8")


async def _crash_on(broker: Broker, group: str, times: int) -> None:
    """Take the one message of ``group``'s queue ``times`` times and hand it back unhandled,
    as consumers that died holding it would."""
    if broker.backend == "rabbitmq":
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(f"{broker.namespace}:{group}:orders")
            for _ in range(times):
                incoming = await queue.get(timeout=5, fail=True)
                assert incoming is not None
                await incoming.nack(requeue=True)
        return
    client = await nats.connect(NATS_URL)
    try:
        stream = broker.namespace.upper().replace("-", "_")
        pull = await client.jetstream().pull_subscribe_bind(f"{group}__orders", stream)
        for _ in range(times):
            (msg,) = await pull.fetch(batch=1, timeout=5)
            await msg.nak()
    finally:
        await client.close()


@pytest.mark.parametrize("backend", ["rabbitmq", "nats"])
async def test_deliveries_cut_short_by_crashes_leave_the_attempts_whole(
    backend: str, tmp_path: Path
) -> None:
    """A message its consumers died on more often than max_deliver still gets max_deliver
    attempts at its handler: failing twice and then handled, it is never dead-lettered."""
    async with open_broker(backend, tmp_path) as broker:
        bus = await broker.open()

        async def never_called(delivery: Delivery) -> None:
            raise AssertionError(delivery)

        await (await broker.subscribe(bus, "orders", never_called, group="ledger")).close()
        message = Message.create(type="order.accepted", source="/tests", subject="case-7")
        await bus.publish("orders", message)
        await _crash_on(broker, "ledger", FAST.max_deliver + 1)

        attempts: list[int] = []
        handled = asyncio.Event()

        async def fails_twice(delivery: Delivery) -> None:
            attempts.append(delivery.attempt)
            if len(attempts) < FAST.max_deliver:
                raise BackendUnavailable("ERP timed out", backend="erp")
            handled.set()

        await broker.subscribe(bus, "orders", fails_twice, group="ledger")
        await asyncio.wait_for(handled.wait(), WAIT)
        await asyncio.sleep(0.3)
        crashes = FAST.max_deliver + 1
        assert attempts == [crashes + 1, crashes + 2, crashes + 3]  # the broker's delivery count
        async with broker.store.engine.connect() as conn:
            assert await list_dead_letters(conn, DeadLetterFilter()) == []
            assert (await conn.execute(sa.select(delivery_failure))).all() == []
