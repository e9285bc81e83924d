"""Buses on each backend for the broker tests: in-process, and the machine's real brokers.

The RabbitMQ and NATS cases skip, saying why, only when nothing listens on their port.
Each test gets its own namespace on the broker, deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import nats
import pytest

from ledgerbridge.runtime.dead_letters import DeadLetterChannel
from ledgerbridge.runtime.messaging import (
    DeliveryPolicy,
    EventBus,
    Handler,
    StoredFailures,
    Subscription,
    connect_bus,
)
from ledgerbridge.runtime.store import Store

RABBITMQ_URL = os.environ.get("LEDGERBRIDGE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
NATS_URL = os.environ.get("LEDGERBRIDGE_TEST_NATS_URL", "nats://127.0.0.1:4222")
URLS = {"memory": "memory://", "rabbitmq": RABBITMQ_URL, "nats": NATS_URL}
FAST = DeliveryPolicy(max_deliver=3, backoff=0.01, backoff_cap=0.05)


def listening(url: str) -> bool:
    """Whether something accepts TCP connections at the host and port of ``url``."""
    host_port = url.split("@")[-1].split("//")[-1].split("/")[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


async def delete_namespace(backend: str, namespace: str, queues: list[str]) -> None:
    """Remove what a test created on the broker."""
    if backend == "rabbitmq":
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            for queue in [*queues, f"{namespace}.dead-letters"]:
                await channel.queue_delete(queue)
            for exchange in (f"{namespace}.events", f"{namespace}.dead-letter"):
                await channel.exchange_delete(exchange)
    elif backend == "nats":
        client = await nats.connect(NATS_URL)
        try:
            await client.jetstream().delete_stream(namespace.upper().replace("-", "_"))
        finally:
            await client.close()


@dataclass
class Broker:
    """One backend under test: how to open buses on it and what to clean up."""

    backend: str
    namespace: str
    store: Store
    open: Callable[..., Awaitable[EventBus]]
    queues: list[str]

    async def subscribe(
        self, bus: EventBus, topic: str, handler: Handler, *, group: str, prefetch: int = 16
    ) -> Subscription:
        """Subscribe, remembering the queue for the clean-up."""
        self.queues.append(f"{self.namespace}:{group}:{topic}")
        return await bus.subscribe(topic, handler, group=group, prefetch=prefetch)


@contextlib.asynccontextmanager
async def open_broker(backend: str, tmp_path: Path) -> AsyncIterator[Broker]:
    """A backend with a dead-letter channel and failure log on a SQLite store; buses opened
    are closed after."""
    url = URLS[backend]
    if backend != "memory" and not listening(url):
        pytest.skip(f"needs {backend} at {url}; nothing is listening there")
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'bus.sqlite3'}")
    await store.upgrade()
    namespace = f"lbtest-{uuid.uuid4().hex[:10]}"
    opened: list[EventBus] = []

    async def open_bus(policy: DeliveryPolicy = FAST) -> EventBus:
        # The in-process bus lives in one object: every "connection" is that object.
        if backend == "memory" and opened:
            return opened[0]
        bus = await connect_bus(
            url,
            dead_letters=DeadLetterChannel(store.engine),
            policy=policy,
            namespace=namespace,
            failures=StoredFailures(store.engine),
        )
        opened.append(bus)
        return bus

    queues: list[str] = []
    try:
        yield Broker(backend, namespace, store, open_bus, queues)
    finally:
        for bus in opened:
            await bus.close()
        await delete_namespace(backend, namespace, queues)
        await store.dispose()


@pytest.fixture(params=["memory", "rabbitmq", "nats"])
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Broker]:
    """Each backend in turn: in-process, RabbitMQ, NATS JetStream."""
    async with open_broker(str(request.param), tmp_path) as opened:
        yield opened


@pytest.fixture
async def rabbitmq(tmp_path: Path) -> AsyncIterator[Broker]:
    """The RabbitMQ backend alone."""
    async with open_broker("rabbitmq", tmp_path) as opened:
        yield opened


@pytest.fixture
async def jetstream(tmp_path: Path) -> AsyncIterator[Broker]:
    """The NATS JetStream backend alone."""
    async with open_broker("nats", tmp_path) as opened:
        yield opened
