"""Choose the bus backend from a URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from ledgerbridge.runtime.messaging._bus import (
    DEFAULT_NAMESPACE,
    DeadLetterSink,
    DeliveryPolicy,
    EventBus,
)
from ledgerbridge.runtime.messaging._failures import FailureLog
from ledgerbridge.runtime.messaging._memory import InMemoryBus
from ledgerbridge.runtime.messaging._nats import NatsBus
from ledgerbridge.runtime.messaging._rabbitmq import RabbitMQBus


async def connect_bus(
    url: str,
    *,
    dead_letters: DeadLetterSink,
    policy: DeliveryPolicy | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    failures: FailureLog | None = None,
) -> EventBus:
    """Open the bus that ``url`` names.

    Args:
        url: ``memory://`` (in this process), ``amqp://user:pass@host:5672/vhost`` (RabbitMQ)
            or ``nats://host:4222`` (NATS JetStream).
        dead_letters: Where messages go whose retries are exhausted or whose error is permanent.
        policy: Redelivery limits and backoff.
        namespace: Prefix of every exchange, queue, stream and subject on the broker, so
            several deployments (or test runs) can share one.
        failures: Where a broker bus counts each message's failed attempts
            (``StoredFailures`` shares the count among processes); by default this process
            counts what it sees.

    Returns:
        A connected bus; call ``close()`` when done.
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return InMemoryBus(dead_letters=dead_letters, policy=policy)
    if scheme in {"amqp", "amqps"}:
        return await RabbitMQBus.connect(
            url, dead_letters=dead_letters, policy=policy, namespace=namespace, failures=failures
        )
    if scheme in {"nats", "tls"}:
        return await NatsBus.connect(
            url, dead_letters=dead_letters, policy=policy, namespace=namespace, failures=failures
        )
    raise ValueError(f"unknown bus URL scheme {scheme!r}: use memory://, amqp:// or nats://")
