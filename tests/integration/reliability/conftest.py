"""Real dead letters for the dead-letter API and CLI tests: a consumer on the in-process bus
that fails for good until its cause is fixed, on a store of each database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aio_pika
import httpx
import pytest

from ledgerbridge.apis.process.dead_letters import views
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.runtime.dead_letters import DeadLetterChannel
from ledgerbridge.runtime.errors import NotFound
from ledgerbridge.runtime.house import House
from ledgerbridge.runtime.messaging import (
    Delivery,
    DeliveryPolicy,
    InMemoryBus,
    Message,
    OutboxRelay,
    add_to_outbox,
)
from ledgerbridge.runtime.store import Store

RABBITMQ_URL = os.environ.get("LEDGERBRIDGE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
TOPIC = "payment-received"
GROUP = "cash-application"
BASE = "/process/dead-letters/v1"


@dataclass
class Payments:
    """A cash-application consumer that knows only the invoices in ``known``.

    A payment for an unknown invoice fails for good (NotFound) and is dead-lettered; once the
    invoice is known (the cause fixed), a redelivered payment is applied.
    """

    store: Store
    bus: InMemoryBus
    relay: OutboxRelay
    known: set[str] = field(default_factory=set)
    applied: list[str] = field(default_factory=list)

    async def handle(self, delivery: Delivery) -> None:
        invoice = str(delivery.message.data["invoice"])
        if invoice not in self.known:
            raise NotFound(f"invoice {invoice} is unknown", backend="erp", fields=["invoice"])
        self.applied.append(delivery.message.id)

    async def pay(self, invoice: str, *, case_id: str | None = None) -> Message:
        """Publish a payment for ``invoice`` the way a process does: through the outbox."""
        message = Message(
            type="payment.received",
            source="/process/order-to-cash",
            subject=case_id or f"case-{uuid.uuid4().hex[:8]}",
            correlation_id=f"corr-{uuid.uuid4().hex[:8]}",
            data={"invoice": invoice, "amount": "119.00", "currency": "EUR"},
        )
        async with self.store.engine.begin() as conn:
            await add_to_outbox(conn, TOPIC, message)
        await self.deliver()
        return message

    async def deliver(self) -> None:
        """Relay the outbox to the bus and wait until every delivery ended."""
        await self.relay.drain()
        await self.bus.join()


@pytest.fixture
async def payments(store: Store) -> AsyncIterator[Payments]:
    """The consumer subscribed on an in-process bus whose dead letters go to ``store``."""
    bus = InMemoryBus(
        dead_letters=DeadLetterChannel(store.engine),
        policy=DeliveryPolicy(max_deliver=2, backoff=0.001, backoff_cap=0.001),
    )
    consumer = Payments(store, bus, OutboxRelay(store.engine, bus))
    await bus.subscribe(TOPIC, consumer.handle, group=GROUP)
    yield consumer
    await bus.close()


@pytest.fixture
async def api(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    """The dead-letters API on ``store``, over an in-process transport."""
    async with httpx.AsyncClient() as unused_system:
        house = House()
        house.mount([views.create_app(ProcessDeps(store=store, system=unused_system))])
        transport = httpx.ASGITransport(app=house.app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://house{BASE}") as client:
            yield client


async def delete_queues(queues: list[str]) -> None:
    """Remove the queues a test declared on RabbitMQ, leaving the shared exchanges alone."""
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
