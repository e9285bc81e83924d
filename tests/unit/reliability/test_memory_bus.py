"""The in-process bus: groups, competing consumers, retries, dead letters and shutdown."""

from __future__ import annotations

import asyncio
import time

import pytest

from ledgerbridge.runtime.errors import BackendPaused, BackendUnavailable, MappingError
from ledgerbridge.runtime.messaging import (
    Delivery,
    DeliveryPolicy,
    FailedDelivery,
    InMemoryBus,
    Message,
    connect_bus,
)
from ledgerbridge.runtime.problems import UpstreamProblem

FAST = DeliveryPolicy(max_deliver=3, backoff=0.001, backoff_cap=0.01)


def _message(n: int = 0) -> Message:
    return Message.create(type="order.accepted", source="/tests", data={"n": n})


class Sink:
    """A dead-letter sink that keeps what it is given."""

    def __init__(self) -> None:
        self.failures: list[FailedDelivery] = []

    async def __call__(self, failure: FailedDelivery) -> None:
        self.failures.append(failure)


async def test_each_group_gets_every_message_and_members_share_them() -> None:
    """Two groups each see all messages; two members of one group split them without overlap."""
    bus = InMemoryBus(dead_letters=Sink(), policy=FAST)
    billing: list[str] = []
    audit_a: list[str] = []
    audit_b: list[str] = []

    async def record(into: list[str], delivery: Delivery) -> None:
        into.append(delivery.message.id)
        await asyncio.sleep(0)

    await bus.subscribe("orders", lambda d: record(billing, d), group="billing")
    await bus.subscribe("orders", lambda d: record(audit_a, d), group="audit", prefetch=1)
    await bus.subscribe("orders", lambda d: record(audit_b, d), group="audit", prefetch=1)
    sent = [_message(n) for n in range(20)]
    for message in sent:
        await bus.publish("orders", message, key="k", headers={"x-origin": "test"})
    await bus.join()
    await bus.close()
    ids = [m.id for m in sent]
    assert billing == ids
    assert sorted(audit_a + audit_b) == sorted(ids)
    assert audit_a
    assert audit_b


async def test_delivery_carries_key_headers_and_attempt() -> None:
    """A handler sees the topic, group, key, headers and the attempt number."""
    bus = await connect_bus("memory://", dead_letters=Sink(), policy=FAST)
    seen: list[Delivery] = []

    async def handle(delivery: Delivery) -> None:
        seen.append(delivery)

    await bus.subscribe("orders", handle, group="g")
    message = _message()
    await bus.publish("orders", message, key="case-1", headers={"x-origin": "test"})
    assert isinstance(bus, InMemoryBus)
    await bus.join()
    await bus.close()
    assert [(d.message, d.topic, d.group, d.key, dict(d.headers), d.attempt) for d in seen] == [
        (message, "orders", "g", "case-1", {"x-origin": "test"}, 1)
    ]


async def test_transient_failures_are_retried_until_the_handler_succeeds() -> None:
    """A handler failing with BackendUnavailable twice succeeds on the third attempt."""
    sink = Sink()
    bus = InMemoryBus(dead_letters=sink, policy=FAST)
    attempts: list[int] = []

    async def flaky(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if delivery.attempt < 3:
            raise BackendUnavailable("ERP timed out", backend="erp")

    await bus.subscribe("orders", flaky, group="g")
    await bus.publish("orders", _message())
    await bus.join()
    await bus.close()
    assert attempts == [1, 2, 3]
    assert sink.failures == []


def test_a_paused_backend_is_waited_for_longer_than_the_backoff() -> None:
    """An error saying how long its backend is paused (a rate limit, an open breaker) sets
    the wait before the next attempt, up to the pause cap; other errors get the backoff."""
    policy = DeliveryPolicy(backoff=0.5, backoff_cap=30.0, pause_cap=120.0)
    limited = UpstreamProblem(429, {"detail": "calls paused for 58s"}, retry_after=58)
    breaker = BackendPaused("breaker open", backend="erp", retry_after=2)
    assert policy.delay(1, BackendUnavailable("down", backend="erp")) == 0.5
    assert policy.delay(1, limited) == 58.0
    assert policy.delay(1, breaker) == 2.0
    assert policy.delay(7, breaker) == 30.0  # the backoff is longer by now
    assert policy.delay(1, UpstreamProblem(429, {}, retry_after=3600)) == 120.0
    assert policy.delay(3) == 2.0


async def test_a_message_whose_backend_is_paused_is_delivered_again_after_the_pause() -> None:
    """The second delivery waits the pause out instead of using up the attempts meanwhile."""
    sink = Sink()
    bus = InMemoryBus(dead_letters=sink, policy=FAST)
    delivered: list[float] = []

    async def limited(delivery: Delivery) -> None:
        delivered.append(time.monotonic())
        if delivery.attempt == 1:
            raise BackendPaused("REQUEST_LIMIT_EXCEEDED", backend="salesforce", retry_after=1)

    await bus.subscribe("orders", limited, group="g")
    await bus.publish("orders", _message())
    await bus.join()
    await bus.close()
    assert len(delivered) == 2
    assert delivered[1] - delivered[0] >= 1.0
    assert sink.failures == []


async def test_exhausted_retries_go_to_the_dead_letter_sink_with_history() -> None:
    """After max_deliver failed attempts the message is dead-lettered with each attempt."""
    sink = Sink()
    bus = InMemoryBus(dead_letters=sink, policy=FAST)

    async def down(delivery: Delivery) -> None:
        raise BackendUnavailable(f"down #{delivery.attempt}", backend="erp")

    await bus.subscribe("orders", down, group="g")
    message = _message()
    await bus.publish("orders", message)
    await bus.join()
    await bus.close()
    [failure] = sink.failures
    assert (failure.message, failure.topic, failure.group) == (message, "orders", "g")
    assert failure.reason == "retries exhausted"
    assert [(a.number, a.error, a.error_type) for a in failure.attempts] == [
        (1, "down #1", "BackendUnavailable"),
        (2, "down #2", "BackendUnavailable"),
        (3, "down #3", "BackendUnavailable"),
    ]


async def test_permanent_errors_are_dead_lettered_without_retry() -> None:
    """A mapping error is not retried: one attempt, then the dead-letter sink."""
    sink = Sink()
    bus = InMemoryBus(dead_letters=sink, policy=FAST)
    calls = 0

    async def bad(delivery: Delivery) -> None:
        nonlocal calls
        calls += 1
        raise MappingError(mapping_id="crm-order", field="Amount", rule="decimal", value="x")

    await bus.subscribe("orders", bad, group="g")
    await bus.publish("orders", _message())
    await bus.join()
    await bus.close()
    assert calls == 1
    [failure] = sink.failures
    assert failure.reason == "permanent error"
    assert failure.attempts[0].error_type == "MappingError"


async def test_close_lets_a_running_handler_finish() -> None:
    """Closing a subscription waits for the handler already running instead of cutting it."""
    bus = InMemoryBus(dead_letters=Sink(), policy=FAST)
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.append(delivery.message.id)

    subscription = await bus.subscribe("orders", slow, group="g", prefetch=2)
    message = _message()
    await bus.publish("orders", message)
    await started.wait()
    await subscription.close()
    assert finished == [message.id]


async def test_message_round_trips_through_its_wire_form() -> None:
    """The envelope serialises to CloudEvents-style JSON and back unchanged."""
    message = Message.create(
        type="invoice.posted", source="/process/billing", subject="case-9", data={"total": "10.50"}
    )
    assert Message.from_bytes(message.to_bytes()) == message
    assert message.specversion == "1.0"


async def test_a_failing_dead_letter_sink_does_not_lose_the_message() -> None:
    """When the sink fails the message is kept and dead-lettered once the sink works again."""
    stored: list[FailedDelivery] = []
    sink_calls = 0

    async def flaky_sink(failure: FailedDelivery) -> None:
        nonlocal sink_calls
        sink_calls += 1
        if sink_calls == 1:
            raise ConnectionError("dead-letter store unreachable")
        stored.append(failure)

    bus = InMemoryBus(dead_letters=flaky_sink, policy=FAST)

    async def bad(delivery: Delivery) -> None:
        raise MappingError(mapping_id="crm-order", field="sku", rule="known", value="X")

    await bus.subscribe("orders", bad, group="g")
    message = _message()
    await bus.publish("orders", message)
    await bus.join()
    await bus.close()
    assert [f.message for f in stored] == [message]
    assert sink_calls == 2


async def test_names_the_brokers_cannot_carry_are_refused() -> None:
    """Topics and groups must be dotted words on every backend, the in-process one included."""
    bus = InMemoryBus(dead_letters=Sink(), policy=FAST)

    async def handle(delivery: Delivery) -> None:
        return None

    with pytest.raises(ValueError, match="topic 'orders accepted'"):
        await bus.publish("orders accepted", _message())
    with pytest.raises(ValueError, match="group 'a:b'"):
        await bus.subscribe("orders", handle, group="a:b")


async def test_unknown_bus_url_is_refused() -> None:
    """A URL naming no known backend is refused with the schemes that work."""
    with pytest.raises(ValueError, match=r"memory://, amqp:// or nats://"):
        await connect_bus("kafka://127.0.0.1:9092", dead_letters=Sink())
