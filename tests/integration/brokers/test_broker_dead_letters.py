"""The brokers' own give-up mechanisms land in our dead letters (consumers that crash)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aio_pika
import nats
from nats.js import api
from tests.integration.brokers.conftest import NATS_URL, RABBITMQ_URL, Broker

from ledgerbridge.runtime.dead_letters import DeadLetter, DeadLetterFilter, list_dead_letters
from ledgerbridge.runtime.messaging import Delivery, Message, NatsBus

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
        for _ in range(10):  # each nack with requeue stands for a consumer that died mid-message
            incoming = await queue.get(timeout=5, fail=False)
            if incoming is None:
                break
            await incoming.nack(requeue=True)
    [letter] = await _one_dead_letter(rabbitmq)
    assert letter.message() == message
    assert letter.reason == "broker: delivery_limit"
    assert (letter.consumer, letter.source, letter.case_id) == ("crashy", "orders", "case-9")


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
