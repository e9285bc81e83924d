"""Events per second the outbox relay publishes to each broker, against the broker client
publishing the same messages directly.

For each backend (in-process, RabbitMQ, NATS JetStream) and each store (SQLite, and
PostgreSQL when one listens), the outbox is filled with N committed events (not timed), then
one relay drains it in batches, waiting for every publisher confirm or JetStream ack. The
baseline is the broker client alone (aio-pika, nats-py) publishing the same envelopes in the
same batch size with the same confirms: the ratio is what reading and marking rows costs.
Each figure is the median of rounds that alternate baseline and relay. A broker that is not
listening is reported as skipped.

Usage: python bench/outbox_relay.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import nats
from _report import measure, write

from ledgerbridge.runtime.messaging import (
    FailedDelivery,
    InMemoryBus,
    Message,
    OutboxRelay,
    Outgoing,
    add_to_outbox,
    connect_bus,
)
from ledgerbridge.runtime.store import Store

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"
PG = ("127.0.0.1", 5432, "postgres")
TOPIC = "orders.accepted"


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


async def _refuse(failure: FailedDelivery) -> None:
    raise RuntimeError(f"the benchmark consumes nothing: {failure}")


def _messages(count: int) -> list[Message]:
    return [
        Message.create(
            type="order.accepted",
            source="/bench",
            subject=f"case-{n}",
            data={"order_id": f"801{n:012d}", "total": "1250.00", "currency": "EUR"},
        )
        for n in range(count)
    ]


@contextlib.asynccontextmanager
async def _stores(scratch: Path) -> AsyncIterator[list[tuple[str, str]]]:
    """The stores to measure: (label, url) for SQLite and, if it listens, PostgreSQL."""
    stores = [("sqlite", f"sqlite+aiosqlite:///{scratch / 'bench.sqlite3'}")]
    host, port, user = PG
    name = f"ledgerbridge_bench_{uuid.uuid4().hex[:8]}"
    admin = (
        await asyncpg.connect(host=host, port=port, user=user) if _listening(host, port) else None
    )
    try:
        if admin is not None:
            await admin.execute(f'CREATE DATABASE "{name}"')
            stores.append(("postgres", f"postgresql+asyncpg://{user}@{host}:{port}/{name}"))
        yield stores
    finally:
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def _relay_rate(url: str, bus_url: str, namespace: str, count: int, batch: int) -> float:
    """Fill the outbox with ``count`` events, then time one relay draining it."""
    store = Store(url)
    await store.upgrade()
    bus = await connect_bus(bus_url, dead_letters=_refuse, namespace=namespace)
    try:
        async with store.engine.begin() as conn:
            for message in _messages(count):
                await add_to_outbox(conn, TOPIC, message)
        relay = OutboxRelay(store.engine, bus, batch_size=batch)
        started = time.perf_counter()
        published = await relay.drain()
        elapsed = time.perf_counter() - started
        assert published == count, (published, count)
        async with store.engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM outbox")
    finally:
        await bus.close()
        await store.dispose()
    return count / elapsed


async def _memory_direct(count: int, batch: int) -> float:
    bus = InMemoryBus(dead_letters=_refuse)
    messages = _messages(count)
    started = time.perf_counter()
    for at in range(0, count, batch):
        await bus.publish_many([Outgoing(TOPIC, m) for m in messages[at : at + batch]])
    return count / (time.perf_counter() - started)


async def _rabbitmq_direct(namespace: str, count: int, batch: int) -> float:
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        messages = _messages(count)
        started = time.perf_counter()
        for at in range(0, count, batch):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            m.to_bytes(),
                            message_id=m.id,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=TOPIC,
                    )
                    for m in messages[at : at + batch]
                )
            )
        return count / (time.perf_counter() - started)


async def _nats_direct(namespace: str, count: int, batch: int) -> float:
    client = await nats.connect(NATS_URL)
    try:
        js = client.jetstream()
        stream = namespace.upper().replace("-", "_")
        messages = _messages(count)
        started = time.perf_counter()
        for at in range(0, count, batch):
            acks = [
                await js.publish_async(
                    f"{namespace}.{TOPIC}",
                    m.to_bytes(),
                    stream=stream,
                    headers={"Nats-Msg-Id": m.id},
                )
                for m in messages[at : at + batch]
            ]
            await asyncio.gather(*acks)
        return count / (time.perf_counter() - started)
    finally:
        await client.close()


async def _prepare(backend: str, namespace: str) -> None:
    """Give the broker a durable place for the events, as a subscribed group would."""
    if backend == "rabbitmq":
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(
                f"{namespace}:bench:{TOPIC}", durable=True, arguments={"x-queue-type": "quorum"}
            )
            await queue.bind(exchange, routing_key=TOPIC)
    elif backend == "nats":  # connecting the bus creates the stream
        bus = await connect_bus(NATS_URL, dead_letters=_refuse, namespace=namespace)
        await bus.close()


async def _clean(backend: str, namespace: str) -> None:
    if backend == "rabbitmq":
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            for queue in (f"{namespace}:bench:{TOPIC}", f"{namespace}.dead-letters"):
                await channel.queue_delete(queue)
            for exchange in (f"{namespace}.events", f"{namespace}.dead-letter"):
                await channel.exchange_delete(exchange)
    elif backend == "nats":
        client = await nats.connect(NATS_URL)
        try:
            await client.jetstream().delete_stream(namespace.upper().replace("-", "_"))
        finally:
            await client.close()


async def _direct(backend: str, namespace: str, count: int, batch: int) -> float:
    if backend == "memory":
        return await _memory_direct(count, batch)
    if backend == "rabbitmq":
        return await _rabbitmq_direct(namespace, count, batch)
    return await _nats_direct(namespace, count, batch)


async def run(count: int, batch: int, rounds: int) -> list[dict[str, Any]]:
    backends: dict[str, tuple[str, bool]] = {
        "memory": ("memory://", True),
        "rabbitmq": (RABBITMQ_URL, _listening("127.0.0.1", 5672)),
        "nats": (NATS_URL, _listening("127.0.0.1", 4222)),
    }
    baselines = {
        "memory": "InMemoryBus.publish_many, no store",
        "rabbitmq": "aio-pika publish with confirms, same batches",
        "nats": "nats-py JetStream publish_async + acks, same batches",
    }
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        async with _stores(Path(scratch)) as stores:
            for backend, (url, up) in backends.items():
                if not up:
                    print(f"skipped {backend}: nothing listens at {url}")
                    continue
                namespace = f"lbbench-{uuid.uuid4().hex[:8]}"
                await _prepare(backend, namespace)
                try:
                    # Rounds interleave the baseline and the relay, so that warm-up and drift
                    # hit both; the median of each is reported.
                    direct_rates: list[float] = []
                    relay_rates: dict[str, list[float]] = {label: [] for label, _ in stores}
                    for _ in range(rounds):
                        direct_rates.append(await _direct(backend, namespace, count, batch))
                        for label, store_url in stores:
                            relay_rates[label].append(
                                await _relay_rate(store_url, url, namespace, count, batch)
                            )
                    for label, rates in relay_rates.items():
                        rows.append(
                            measure(
                                f"outbox relay -> {backend} ({label} store)",
                                statistics.median(rates),
                                "events/s",
                                baselines[backend],
                                statistics.median(direct_rates),
                            )
                        )
                finally:
                    await _clean(backend, namespace)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    args = parser.parse_args()
    count, batch, rounds = (1_000, 200, 3) if args.quick else (10_000, 200, 5)
    rows = asyncio.run(run(count, batch, rounds))
    write("outbox_relay", rows)


if __name__ == "__main__":
    main()
