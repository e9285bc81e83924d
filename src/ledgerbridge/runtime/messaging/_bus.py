"""The one bus interface every backend implements, and what a delivery carries.

Delivery is at least once on every backend: a handler may see a message again after a crash
or a redelivery, so handlers that change state deduplicate with ``consumed_once``. A handler
that raises is retried (a fresh delivery, ``attempt`` counts up) until ``max_deliver``
attempts; then, or at once when the error is permanent, the message goes to the dead-letter
sink with its attempt history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pydantic

from ledgerbridge.runtime import errors
from ledgerbridge.runtime.messaging._envelope import Message

#: Prefix of every exchange, queue, stream and subject when a deployment names none.
DEFAULT_NAMESPACE = "ledgerbridge"

# Errors that no retry can fix: the message or the request it leads to is wrong.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    errors.MappingError,
    errors.BackendRejected,
    errors.NotFound,
    errors.Conflict,
    errors.IdempotencyConflict,
    pydantic.ValidationError,
)


# Set on a dead letter's replay: names the dead letter and the replay's number.
REPLAY_HEADER = "x-ledgerbridge-replay-of"


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the delivery that raised ``exc`` cannot help."""
    return isinstance(exc, PERMANENT_ERRORS)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How often a failing message is retried, and how long to wait between attempts.

    ``max_deliver`` counts the attempts whose handler raised (see `FailureLog`). The defaults
    wait about two minutes in all before giving up, so a backend outage of that order is
    ridden out rather than dead-lettered. An error that says how long its backend is paused
    (a rate limit's or an open breaker's ``retry_after``) waits at least that long, up to
    ``pause_cap``, so a pause does not use up the attempts. The broker's own limit,
    ``broker_limit``, also counts deliveries cut short by a crash: ``crash_allowance`` of
    those come on top, and a message that kills its consumer every time ends there. On
    RabbitMQ that limit is set when a queue is first declared; the broker refuses to
    redeclare an existing queue with another limit.

    Usage::

        DeliveryPolicy(max_deliver=10, backoff=0.5, backoff_cap=30.0)
    """

    max_deliver: int = 10
    backoff: float = 0.5
    backoff_cap: float = 30.0
    pause_cap: float = 300.0
    crash_allowance: int = 10

    @property
    def broker_limit(self) -> int:
        """Deliveries the broker makes of one message before it dead-letters it itself."""
        return self.max_deliver + self.crash_allowance

    def delay(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait before redelivering after failed attempt ``attempt`` (1-based)
        that raised ``error``."""
        backoff = float(min(self.backoff_cap, self.backoff * 2 ** (attempt - 1)))
        paused = getattr(error, "retry_after", None)
        if isinstance(paused, int | float) and paused > 0:
            return max(backoff, min(float(paused), self.pause_cap))
        return backoff


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish, with its topic, ordering key and transport headers."""

    topic: str
    message: Message
    key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a handler receives: the message, where it came from and which attempt this is."""

    message: Message
    topic: str
    group: str
    attempt: int
    key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One failed attempt at handling a message."""

    number: int
    error: str
    error_type: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A message given up on: its retries are exhausted or its error is permanent."""

    message: Message
    topic: str
    group: str
    reason: str
    attempts: tuple[Attempt, ...] = ()


Handler = Callable[[Delivery], Awaitable[None]]
DeadLetterSink = Callable[[FailedDelivery], Awaitable[None]]


def attempt_of(number: int, exc: BaseException) -> Attempt:
    """The record of attempt ``number`` that failed with ``exc``."""
    return Attempt(number=number, error=str(exc) or repr(exc), error_type=type(exc).__name__)


class Subscription(Protocol):
    """A running consumer; ``close`` stops it gracefully."""

    async def close(self) -> None:
        """Stop taking messages, let in-flight handlers finish, and return what is unstarted."""


class EventBus(Protocol):
    """Publish messages to topics and consume them in groups.

    Each group subscribed to a topic gets every message once (at least once); subscribers
    sharing a group compete for the messages. A publish returns only once the backend has
    taken responsibility for the message (a publisher confirm or a JetStream ack).
    """

    async def publish(
        self,
        topic: str,
        message: Message,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish one message and wait for the backend's confirm.

        Args:
            topic: Where the message goes (dotted words, e.g. ``orders.accepted``).
            message: The envelope.
            key: Ordering or partition key, carried to consumers.
            headers: Transport headers, carried to consumers.
        """

    async def publish_many(self, batch: Sequence[Outgoing]) -> None:
        """Publish ``batch`` in order and return when every message is confirmed."""

    async def subscribe(
        self, topic: str, handler: Handler, *, group: str, prefetch: int = 16
    ) -> Subscription:
        """Run ``handler`` on each message of ``topic`` for consumer group ``group``.

        Args:
            topic: The topic to consume.
            handler: Called once per delivery; raising asks for a redelivery.
            group: The durable consumer group; its members share the messages.
            prefetch: How many unacknowledged messages one subscriber holds at most.
        """
        ...

    async def close(self) -> None:
        """Close every subscription gracefully, then the connection."""
