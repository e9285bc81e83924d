"""The in-process bus: the default, for one process and for tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from ledgerbridge.runtime.messaging._bus import (
    Attempt,
    DeadLetterSink,
    Delivery,
    DeliveryPolicy,
    FailedDelivery,
    Handler,
    Outgoing,
    attempt_of,
    is_permanent,
)
from ledgerbridge.runtime.messaging._consumer import check_name
from ledgerbridge.runtime.messaging._envelope import Message

log = structlog.get_logger("ledgerbridge.bus.memory")


@dataclass(frozen=True, slots=True)
class _Queued:
    outgoing: Outgoing
    attempts: tuple[Attempt, ...] = ()


class _Group:
    """One consumer group on one topic: a queue its subscribers compete for."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[_Queued] = asyncio.Queue()
        self.pending_retries: set[asyncio.Task[None]] = set()


class _Worker:
    def __init__(self) -> None:
        self.busy = False
        self.task: asyncio.Task[None] | None = None


class _MemorySubscription:
    def __init__(self, workers: list[_Worker], stopping: asyncio.Event) -> None:
        self._workers = workers
        self._stopping = stopping

    async def close(self) -> None:
        # A busy worker finishes its message and then sees the flag; an idle one is waiting
        # on the queue and holds nothing, so it is cancelled.
        self._stopping.set()
        for worker in self._workers:
            if worker.task is not None and not worker.busy:
                worker.task.cancel()
        for worker in self._workers:
            if worker.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker.task


class InMemoryBus:
    """An ``EventBus`` inside this process: messages live in asyncio queues, lost on exit.

    Use it where one process does everything (the embedded default, tests). Messages that
    must survive a crash go through the outbox, which the relay publishes here.

    Usage::

        bus = InMemoryBus(dead_letters=sink)
        await bus.subscribe("orders", handle, group="billing")
        await bus.publish("orders", message)
    """

    def __init__(
        self, *, dead_letters: DeadLetterSink, policy: DeliveryPolicy | None = None
    ) -> None:
        self._groups: dict[str, dict[str, _Group]] = defaultdict(dict)
        self._dead_letters = dead_letters
        self._policy = policy or DeliveryPolicy()
        self._subscriptions: list[_MemorySubscription] = []

    async def publish(
        self,
        topic: str,
        message: Message,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue ``message`` for every group subscribed to ``topic`` (none: it is dropped)."""
        # Names are held to the brokers' rules here too, so a topic never works only in-process.
        outgoing = Outgoing(check_name("topic", topic), message, key, dict(headers or {}))
        for group in self._groups[topic].values():
            group.queue.put_nowait(_Queued(outgoing))

    async def publish_many(self, batch: Sequence[Outgoing]) -> None:
        """Queue each message of ``batch`` in order."""
        for item in batch:
            await self.publish(item.topic, item.message, key=item.key, headers=item.headers)

    async def subscribe(
        self, topic: str, handler: Handler, *, group: str, prefetch: int = 16
    ) -> _MemorySubscription:
        """Start ``prefetch`` workers taking ``topic`` messages for ``group``."""
        check_name("topic", topic)
        state = self._groups[topic].setdefault(check_name("group", group), _Group())
        stopping = asyncio.Event()
        workers = [_Worker() for _ in range(max(1, prefetch))]
        for worker in workers:
            worker.task = asyncio.create_task(
                self._work(topic, group, state, handler, stopping, worker)
            )
        subscription = _MemorySubscription(workers, stopping)
        self._subscriptions.append(subscription)
        return subscription

    async def join(self) -> None:
        """Wait until every queued message (retries included) has been handled or dead-lettered."""
        for groups in self._groups.values():
            for state in groups.values():
                while True:
                    await state.queue.join()
                    if not state.pending_retries:
                        break
                    await asyncio.gather(*state.pending_retries, return_exceptions=True)

    async def close(self) -> None:
        """Stop every subscription."""
        for subscription in self._subscriptions:
            await subscription.close()
        self._subscriptions.clear()

    async def _work(
        self,
        topic: str,
        group: str,
        state: _Group,
        handler: Handler,
        stopping: asyncio.Event,
        worker: _Worker,
    ) -> None:
        while not stopping.is_set():
            queued = await state.queue.get()
            worker.busy = True
            try:
                await self._deliver(topic, group, state, handler, queued)
            finally:
                worker.busy = False
                state.queue.task_done()

    async def _deliver(
        self, topic: str, group: str, state: _Group, handler: Handler, queued: _Queued
    ) -> None:
        item = queued.outgoing
        number = len(queued.attempts) + 1
        delivery = Delivery(item.message, topic, group, number, item.key, item.headers)
        try:
            await handler(delivery)
        except Exception as exc:
            attempts = (*queued.attempts, attempt_of(number, exc))
            if is_permanent(exc) or number >= self._policy.max_deliver:
                reason = "permanent error" if is_permanent(exc) else "retries exhausted"
                failure = FailedDelivery(item.message, topic, group, reason, attempts)
                try:
                    await self._dead_letters(failure)
                except Exception:
                    # The dead-letter store is down: keep the message rather than lose it.
                    log.exception("dead-letter sink failed", topic=topic, group=group)
                    self._retry_later(state, _Queued(item, queued.attempts), number, exc)
                return
            self._retry_later(state, _Queued(item, attempts), number, exc)

    def _retry_later(
        self, state: _Group, queued: _Queued, number: int, error: BaseException
    ) -> None:
        retry = asyncio.create_task(self._requeue(state, queued, self._policy.delay(number, error)))
        state.pending_retries.add(retry)
        retry.add_done_callback(state.pending_retries.discard)

    async def _requeue(self, state: _Group, queued: _Queued, delay: float) -> None:
        await asyncio.sleep(delay)
        state.queue.put_nowait(queued)
