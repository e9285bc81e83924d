"""The RabbitMQ bus (aio-pika): publisher confirms, prefetch, quorum queues, dead-letter exchange.

Layout on the broker, for namespace ``ns``:

- ``ns.events``: a durable topic exchange; the routing key is the topic;
- ``ns:<group>:<topic>``: one durable quorum queue per group and topic, with a delivery limit
  and ``ns.dead-letter`` as its dead-letter exchange;
- ``ns.dead-letter`` (fanout) -> ``ns.dead-letters``: what the broker dead-letters (delivery
  limit reached, e.g. after consumers crashed on a message, or rejected messages). A consumer
  of this queue records each one in our dead-letter sink, so nothing the broker gives up on
  is lost to us.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from ledgerbridge.runtime.messaging._bus import (
    DEFAULT_NAMESPACE,
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
from ledgerbridge.runtime.messaging._consumer import (
    KEY_HEADER,
    InFlight,
    check_name,
    unparseable,
)
from ledgerbridge.runtime.messaging._envelope import CONTENT_TYPE, Message
from ledgerbridge.runtime.messaging._failures import FailureLog, LocalFailures, forget_failures

# Broker bookkeeping headers that handlers have no use for.
_BROKER_HEADERS = frozenset(
    {
        KEY_HEADER,
        "x-delivery-count",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)
_SHUTDOWN_GRACE = 30.0
log = structlog.get_logger("ledgerbridge.bus.rabbitmq")


class _RabbitSubscription:
    def __init__(
        self, channel: AbstractChannel, queue: AbstractQueue, tag: str, in_flight: InFlight
    ) -> None:
        self._channel = channel
        self._queue = queue
        self._tag = tag
        self._in_flight = in_flight

    async def close(self) -> None:
        # Stop deliveries first, let running handlers finish (their backoffs are cut short and
        # they requeue), then close the channel: the broker requeues whatever is left unacked.
        if self._channel.is_closed:
            return
        self._in_flight.closing.set()
        await self._queue.cancel(self._tag)
        await self._in_flight.wait_idle(_SHUTDOWN_GRACE)
        await self._channel.close()


class RabbitMQBus:
    """An ``EventBus`` on RabbitMQ; build it with ``RabbitMQBus.connect``.

    Usage::

        bus = await RabbitMQBus.connect("amqp://guest:guest@127.0.0.1:5672/",
                                        dead_letters=channel)
    """

    def __init__(
        self,
        connection: AbstractRobustConnection,
        channel: AbstractChannel,
        exchange: AbstractExchange,
        *,
        namespace: str,
        dead_letters: DeadLetterSink,
        policy: DeliveryPolicy,
        failures: FailureLog | None = None,
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._exchange = exchange
        self._namespace = namespace
        self._dead_letters = dead_letters
        self._policy = policy
        self._failures = failures or LocalFailures()
        self._subscriptions: list[_RabbitSubscription] = []

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        dead_letters: DeadLetterSink,
        policy: DeliveryPolicy | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        failures: FailureLog | None = None,
    ) -> RabbitMQBus:
        """Connect, declare the exchanges and start recording what the broker dead-letters."""
        check_name("namespace", namespace)
        connection = await aio_pika.connect_robust(
            url, client_properties={"connection_name": namespace}
        )
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        bus = cls(
            connection,
            channel,
            exchange,
            namespace=namespace,
            dead_letters=dead_letters,
            policy=policy or DeliveryPolicy(),
            failures=failures,
        )
        await bus._start_dead_letter_route()
        return bus

    @property
    def dead_letter_queue(self) -> str:
        """The queue the broker dead-letters into."""
        return f"{self._namespace}.dead-letters"

    def queue_name(self, topic: str, group: str) -> str:
        """The queue holding ``topic`` messages for ``group``."""
        return f"{self._namespace}:{group}:{topic}"

    async def publish(
        self,
        topic: str,
        message: Message,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish one persistent message and wait for the broker's confirm."""
        await self._exchange.publish(
            _amqp_message(message, key, headers or {}), routing_key=check_name("topic", topic)
        )

    async def publish_many(self, batch: Sequence[Outgoing]) -> None:
        """Publish ``batch`` in order on one channel and wait for every confirm."""
        # Each publish takes the channel's FIFO lock before its first suspension point, so
        # starting them in order puts them on the wire in order; confirms then overlap.
        await asyncio.gather(
            *(
                self._exchange.publish(
                    _amqp_message(item.message, item.key, item.headers),
                    routing_key=check_name("topic", item.topic),
                )
                for item in batch
            )
        )

    async def subscribe(
        self, topic: str, handler: Handler, *, group: str, prefetch: int = 16
    ) -> _RabbitSubscription:
        """Consume ``topic`` for ``group`` from its quorum queue, ``prefetch`` at a time."""
        check_name("topic", topic)
        check_name("group", group)
        channel, queue = await self._queue(topic, group)
        await channel.set_qos(prefetch_count=prefetch)
        await queue.bind(f"{self._namespace}.events", routing_key=topic)
        in_flight = InFlight()

        async def on_message(incoming: AbstractIncomingMessage) -> None:
            in_flight.enter()
            try:
                await self._handle(incoming, topic, group, handler, in_flight)
            finally:
                in_flight.leave()

        tag = await queue.consume(on_message)
        subscription = _RabbitSubscription(channel, queue, tag, in_flight)
        self._subscriptions.append(subscription)
        return subscription

    async def close(self) -> None:
        """Close every subscription gracefully, then the connection."""
        for subscription in self._subscriptions:
            await subscription.close()
        self._subscriptions.clear()
        await self._connection.close()

    async def _queue(self, topic: str, group: str) -> tuple[AbstractChannel, AbstractQueue]:
        """A channel and the declared queue of ``topic`` for ``group``.

        A queue declared before with other arguments (such as the delivery limit of an
        earlier version) is used as it is: the broker refuses to change them, and refusing
        to consume would stop the group. The warning says to delete the drained queue.
        """
        name = self.queue_name(topic, group)
        channel = await self._connection.channel()
        try:
            declared = await channel.declare_queue(
                name, durable=True, arguments=self._queue_arguments()
            )
        except aio_pika.exceptions.ChannelPreconditionFailed as exc:
            log.warning(
                "queue kept with the arguments it was declared with; delete it once drained",
                queue=name,
                error=str(exc),
            )
            channel = await self._connection.channel()  # the broker closed the other one
            declared = await channel.declare_queue(name, passive=True)
        return channel, declared

    def _queue_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self._policy.broker_limit,
            "x-dead-letter-exchange": f"{self._namespace}.dead-letter",
            # At-least-once dead-lettering: the broker keeps a message until the dead-letter
            # queue has confirmed it (this needs reject-publish overflow).
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    async def _handle(
        self,
        incoming: AbstractIncomingMessage,
        topic: str,
        group: str,
        handler: Handler,
        in_flight: InFlight,
    ) -> None:
        headers = incoming.headers or {}
        attempt = int(str(headers.get("x-delivery-count", 0))) + 1
        message_id = incoming.message_id or ""
        try:
            message = Message.from_bytes(incoming.body)
        except ValueError as exc:
            message = unparseable(message_id, f"amqp:{topic}", incoming.body, exc)
            await self._give_up(
                incoming, message, topic, group, "unparseable body", (attempt_of(attempt, exc),)
            )
            return
        key = headers.get(KEY_HEADER)
        delivery = Delivery(
            message=message,
            topic=topic,
            group=group,
            attempt=attempt,
            key=str(key) if key is not None else None,
            headers={k: str(v) for k, v in headers.items() if k not in _BROKER_HEADERS},
        )
        try:
            await handler(delivery)
        except Exception as exc:
            try:
                attempts = await self._failures.add(group, message.id, attempt_of(attempt, exc))
            except Exception:
                # The store is down: hand the message back, counted by the broker alone.
                log.exception("failure log unavailable", topic=topic, group=group)
                await in_flight.backoff(self._policy.delay(attempt, exc))
                await incoming.nack(requeue=True)
                return
            if is_permanent(exc) or len(attempts) >= self._policy.max_deliver:
                reason = "permanent error" if is_permanent(exc) else "retries exhausted"
                await self._give_up(incoming, message, topic, group, reason, attempts)
                return
            await in_flight.backoff(self._policy.delay(len(attempts), exc))
            await incoming.nack(requeue=True)
            return
        if attempt > 1:  # a redelivery: earlier deliveries may have failed
            await forget_failures(self._failures, group, message.id)
        await incoming.ack()

    async def _give_up(
        self,
        incoming: AbstractIncomingMessage,
        message: Message,
        topic: str,
        group: str,
        reason: str,
        attempts: tuple[Attempt, ...],
    ) -> None:
        # Record with the error first, then let the broker dead-letter it too; the sink keeps
        # one row per message and consumer, so the second report changes nothing.
        try:
            await self._dead_letters(FailedDelivery(message, topic, group, reason, attempts))
        except Exception:
            # The dead-letter store is down: hand the message back rather than lose it.
            log.exception("dead-letter sink failed", topic=topic, group=group)
            await incoming.nack(requeue=True)
            return
        await forget_failures(self._failures, group, message.id)
        await incoming.reject(requeue=False)

    async def _start_dead_letter_route(self) -> None:
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=16)
        exchange = await channel.declare_exchange(
            f"{self._namespace}.dead-letter", aio_pika.ExchangeType.FANOUT, durable=True
        )
        queue = await channel.declare_queue(
            self.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange)
        in_flight = InFlight()

        async def on_dead(incoming: AbstractIncomingMessage) -> None:
            in_flight.enter()
            try:
                await self._record_broker_dead_letter(incoming)
            except Exception:
                log.exception("dead-letter sink failed", queue=self.dead_letter_queue)
                await in_flight.backoff(self._policy.backoff_cap)
                await incoming.nack(requeue=True)
            else:
                await incoming.ack()
            finally:
                in_flight.leave()

        tag = await queue.consume(on_dead)
        self._subscriptions.append(_RabbitSubscription(channel, queue, tag, in_flight))

    async def _record_broker_dead_letter(self, incoming: AbstractIncomingMessage) -> None:
        headers = incoming.headers or {}
        deaths = headers.get("x-death")
        first = deaths[0] if isinstance(deaths, list) and deaths else None
        death: Mapping[str, Any] = first if isinstance(first, Mapping) else {}
        queue = str(death.get("queue", ""))
        _, group, topic = [*queue.split(":", 2), "", "", ""][:3]
        why = str(death.get("reason", "unknown"))
        count = int(str(headers.get("x-delivery-count", death.get("count", 1))))
        try:
            message = Message.from_bytes(incoming.body)
        except ValueError as exc:
            message = unparseable(incoming.message_id or "", f"amqp:{queue}", incoming.body, exc)
        attempt = Attempt(
            number=count,
            error=f"the broker dead-lettered the message ({why}) from queue {queue}",
            error_type="BrokerDeadLettered",
        )
        await self._dead_letters(
            FailedDelivery(
                message, topic or "unknown", group or "unknown", f"broker: {why}", (attempt,)
            )
        )
        await forget_failures(self._failures, group or "unknown", message.id)


def _amqp_message(
    message: Message, key: str | None, headers: Mapping[str, str]
) -> aio_pika.Message:
    all_headers: dict[str, Any] = dict(headers)
    if key is not None:
        all_headers[KEY_HEADER] = key
    return aio_pika.Message(
        message.to_bytes(),
        message_id=message.id,
        correlation_id=message.correlation_id,
        type=message.type,
        timestamp=message.time,
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers=all_headers,
    )
