"""One suite for every bus backend: delivery, groups, retries, dead letters, outbox, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from tests.integration.brokers.conftest import Broker

from ledgerbridge.runtime.dead_letters import DeadLetterFilter, list_dead_letters
from ledgerbridge.runtime.errors import BackendUnavailable, MappingError
from ledgerbridge.runtime.messaging import (
    Delivery,
    Handler,
    Message,
    OutboxRelay,
    add_to_outbox,
    idempotent_consumer,
)

WAIT = 20.0


class Collector:
    """Keeps deliveries and lets a test wait until a condition on them holds."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._changed = asyncio.Condition()

    async def __call__(self, delivery: Delivery) -> None:
        async with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[list[Delivery]], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.deliveries)), WAIT)


def _message(n: int = 0, case: str | None = None) -> Message:
    return Message.create(type="order.accepted", source="/tests", subject=case, data={"n": n})


async def _wait_for_dead_letters(broker: Broker, count: int) -> list[str]:
    async def poll() -> list[str]:
        while True:
            async with broker.store.engine.connect() as conn:
                letters = await list_dead_letters(conn, DeadLetterFilter())
            if len(letters) >= count:
                return [d.id for d in letters]
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), WAIT)


async def test_a_published_message_reaches_its_subscriber(broker: Broker) -> None:
    """The subscriber gets the same envelope, the key, the headers and attempt 1."""
    bus = await broker.open()
    got = Collector()
    await broker.subscribe(bus, "orders.accepted", got, group="billing")
    message = _message(1, case="case-1")
    await bus.publish("orders.accepted", message, key="case-1", headers={"x-origin": "test"})
    await got.wait_for(lambda d: len(d) == 1)
    [delivery] = got.deliveries
    assert delivery.message == message
    assert (delivery.topic, delivery.group, delivery.attempt) == ("orders.accepted", "billing", 1)
    assert delivery.key == "case-1"
    assert delivery.headers["x-origin"] == "test"


async def test_groups_each_get_all_and_members_share(broker: Broker) -> None:
    """Two groups each see every message; two members of one group split them exactly."""
    bus = await broker.open()
    billing, audit = Collector(), Collector()
    members: dict[str, list[str]] = {"a": [], "b": []}

    def member(name: str) -> Handler:
        async def handle(delivery: Delivery) -> None:
            members[name].append(delivery.message.id)
            await asyncio.sleep(0.01)
            await audit(delivery)

        return handle

    await broker.subscribe(bus, "orders", billing, group="billing")
    await broker.subscribe(bus, "orders", member("a"), group="audit", prefetch=1)
    other = await broker.open()
    await broker.subscribe(other, "orders", member("b"), group="audit", prefetch=1)
    sent = [_message(n) for n in range(30)]
    for message in sent:
        await bus.publish("orders", message)
    await billing.wait_for(lambda d: len(d) == 30)
    await audit.wait_for(lambda d: len(d) == 30)
    await asyncio.sleep(0.2)
    assert [d.message.id for d in billing.deliveries] == [m.id for m in sent]
    assert sorted(members["a"] + members["b"]) == sorted(m.id for m in sent)
    assert members["a"]
    assert members["b"]


async def test_transient_failures_are_redelivered_until_success(broker: Broker) -> None:
    """A handler failing twice with BackendUnavailable gets attempts 1, 2 and 3."""
    bus = await broker.open()
    got = Collector()

    async def flaky(delivery: Delivery) -> None:
        await got(delivery)
        if delivery.attempt < 3:
            raise BackendUnavailable("ERP timed out", backend="erp")

    await broker.subscribe(bus, "orders", flaky, group="erp")
    await bus.publish("orders", _message())
    await got.wait_for(lambda d: len(d) == 3)
    await asyncio.sleep(0.3)
    assert [d.attempt for d in got.deliveries] == [1, 2, 3]
    async with broker.store.engine.connect() as conn:
        assert await list_dead_letters(conn) == []


async def test_exhausted_retries_are_dead_lettered_once_with_history(broker: Broker) -> None:
    """After max_deliver failures one dead letter holds the message, case and attempts."""
    bus = await broker.open()

    async def down(delivery: Delivery) -> None:
        raise BackendUnavailable(f"down at attempt {delivery.attempt}", backend="erp")

    await broker.subscribe(bus, "orders", down, group="erp")
    message = _message(case="case-7")
    await bus.publish("orders", message)
    [letter_id] = await _wait_for_dead_letters(broker, 1)
    await asyncio.sleep(0.5)  # the broker's own dead-letter route reports it too
    async with broker.store.engine.connect() as conn:
        letters = await list_dead_letters(conn)
    assert [d.id for d in letters] == [letter_id]
    [letter] = letters
    assert (letter.message(), letter.case_id, letter.consumer) == (message, "case-7", "erp")
    assert letter.reason == "retries exhausted"
    assert [a.number for a in letter.attempts] == [1, 2, 3]
    assert letter.error == "down at attempt 3"


async def test_permanent_errors_are_dead_lettered_at_once(broker: Broker) -> None:
    """A mapping error is dead-lettered after one attempt."""
    bus = await broker.open()
    calls = Collector()

    async def bad(delivery: Delivery) -> None:
        await calls(delivery)
        raise MappingError(mapping_id="crm-order", field="sku", rule="known", value="X")

    await broker.subscribe(bus, "orders", bad, group="erp")
    await bus.publish("orders", _message())
    await _wait_for_dead_letters(broker, 1)
    await asyncio.sleep(0.3)
    async with broker.store.engine.connect() as conn:
        [letter] = await list_dead_letters(conn)
    assert len(calls.deliveries) == 1
    assert (letter.reason, letter.error_type) == ("permanent error", "MappingError")


async def test_outbox_to_consumer_has_each_effect_once_and_in_order(broker: Broker) -> None:
    """Rows committed to the outbox reach an inbox-deduplicated consumer once each, in order."""
    effects = sa.Table("effects", sa.MetaData(), sa.Column("n", sa.Integer()))
    async with broker.store.engine.begin() as conn:
        await conn.run_sync(effects.metadata.create_all)
    bus = await broker.open()
    seen = Collector()

    async def apply(conn: AsyncConnection, delivery: Delivery) -> None:
        await conn.execute(effects.insert().values(n=delivery.message.data["n"]))
        await seen(delivery)

    handler = idempotent_consumer(broker.store.engine, "billing", apply)
    await broker.subscribe(bus, "invoices", handler, group="billing", prefetch=1)
    async with broker.store.engine.begin() as conn:
        for n in range(50):
            await add_to_outbox(conn, "invoices", _message(n))
    relay = OutboxRelay(broker.store.engine, bus, batch_size=20)
    assert await relay.drain() == 50
    # Publish everything a second time, as a relay that crashed before marking would.
    async with broker.store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE outbox SET sent_at = NULL"))
    assert await relay.drain() == 50
    await seen.wait_for(lambda d: len(d) == 50)
    await asyncio.sleep(0.5)
    async with broker.store.engine.connect() as conn:
        applied = (await conn.execute(sa.select(effects.c.n))).scalars().all()
    assert applied == list(range(50))


async def test_closing_lets_the_running_handler_finish_and_ack(broker: Broker) -> None:
    """Close waits for a running handler; its message is acked and not delivered again."""
    bus = await broker.open()
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(delivery.message.id)

    subscription = await broker.subscribe(bus, "orders", slow, group="g", prefetch=1)
    message = _message()
    await bus.publish("orders", message)
    await asyncio.wait_for(started.wait(), WAIT)
    await subscription.close()
    assert finished == [message.id]
    again = Collector()
    await broker.subscribe(bus, "orders", again, group="g")
    await asyncio.sleep(1.0)
    assert again.deliveries == []
