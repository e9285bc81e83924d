"""The NATS JetStream bus (nats-py): acked publishes, durable pull consumers, max deliver.

Layout on the server, for namespace ``ns``:

- stream ``NS`` (upper case, dots as ``_``) holds subjects ``ns.>``; a topic ``t`` is the
  subject ``ns.t``. Publishes carry ``Nats-Msg-Id`` (the message id), so a relay that
  publishes a row twice within the stream's duplicate window stores it once;
- one durable pull consumer per group and topic, with explicit acks, ``max_deliver`` (the
  policy's ``broker_limit``) and ``max_ack_pending`` as the prefetch limit;
- JetStream's own give-up signal, the ``MAX_DELIVERIES`` advisory (a message delivered
  ``broker_limit`` times without an ack, e.g. because consumers crashed on it), is
  subscribed to: the message is fetched from the stream and recorded in our dead-letter sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from datetime import timedelta

import nats
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from ledgerbridge.runtime.messaging._bus import (
    DEFAULT_NAMESPACE,
    REPLAY_HEADER,
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
from ledgerbridge.runtime.messaging._envelope import Message
from ledgerbridge.runtime.messaging._failures import FailureLog, LocalFailures, forget_failures

log = structlog.get_logger("ledgerbridge.bus.nats")
_MSG_ID = "Nats-Msg-Id"
_SHUTDOWN_GRACE = 30.0
_FETCH_WAIT = 1.0
_RETENTION = timedelta(days=7)


class _NatsSubscription:
    def __init__(
        self, subscription: JetStreamContext.PullSubscription, in_flight: InFlight
    ) -> None:
        self._subscription = subscription
        self._in_flight = in_flight
        self.loop: asyncio.Task[None] | None = None

    async def close(self) -> None:
        # The fetch loop finishes its current batch (backoffs are cut short and nak'ed), then
        # stops; the durable consumer stays on the server for the next process.
        if self._in_flight.closing.is_set():
            return
        self._in_flight.closing.set()
        if self.loop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.loop
        await self._subscription.unsubscribe()


class NatsBus:
    """An ``EventBus`` on NATS JetStream; build it with ``NatsBus.connect``.

    Usage::

        bus = await NatsBus.connect("nats://127.0.0.1:4222", dead_letters=channel)
    """

    def __init__(
        self,
        client: Client,
        *,
        namespace: str,
        dead_letters: DeadLetterSink,
        policy: DeliveryPolicy,
        failures: FailureLog | None = None,
    ) -> None:
        self._client = client
        self._js = client.jetstream()
        self._namespace = namespace
        self.stream = namespace.upper().replace(".", "_").replace("-", "_")
        self._dead_letters = dead_letters
        self._policy = policy
        self._failures = failures or LocalFailures()
        self._subscriptions: list[_NatsSubscription] = []
        self._advisories: list[asyncio.Task[None]] = []

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        dead_letters: DeadLetterSink,
        policy: DeliveryPolicy | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        failures: FailureLog | None = None,
    ) -> NatsBus:
        """Connect, make sure the stream exists and watch JetStream's give-up advisories."""
        check_name("namespace", namespace)
        client = await nats.connect(servers=[url], name=namespace)
        bus = cls(
            client,
            namespace=namespace,
            dead_letters=dead_letters,
            policy=policy or DeliveryPolicy(),
            failures=failures,
        )
        await bus._ensure_stream()
        await client.subscribe(
            f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{bus.stream}.*", cb=bus._on_max_deliveries
        )
        return bus

    def subject(self, topic: str) -> str:
        """The subject a topic is published on."""
        return f"{self._namespace}.{check_name('topic', topic)}"

    def durable_name(self, topic: str, group: str) -> str:
        """The durable consumer of ``topic`` for ``group``."""
        return f"{check_name('group', group)}__{check_name('topic', topic)}".replace(".", "_")

    async def publish(
        self,
        topic: str,
        message: Message,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish one message and wait for JetStream's ack."""
        await self._js.publish(
            self.subject(topic),
            message.to_bytes(),
            stream=self.stream,
            headers=_headers(message, key, headers or {}),
        )

    async def publish_many(self, batch: Sequence[Outgoing]) -> None:
        """Publish ``batch`` in order without waiting in between, then wait for every ack."""
        acks = [
            await self._js.publish_async(
                self.subject(item.topic),
                item.message.to_bytes(),
                stream=self.stream,
                headers=_headers(item.message, item.key, item.headers),
            )
            for item in batch
        ]
        await asyncio.gather(*acks)

    async def subscribe(
        self, topic: str, handler: Handler, *, group: str, prefetch: int = 16
    ) -> _NatsSubscription:
        """Pull ``topic`` messages for ``group`` through its durable consumer."""
        durable = self.durable_name(topic, group)
        config = api.ConsumerConfig(
            durable_name=durable,
            description=json.dumps({"group": group, "topic": topic}),
            ack_policy=api.AckPolicy.EXPLICIT,
            max_deliver=self._policy.broker_limit,
            max_ack_pending=prefetch,
            ack_wait=30.0,
            filter_subject=self.subject(topic),
        )
        pull = await self._js.pull_subscribe(
            self.subject(topic), durable=durable, stream=self.stream, config=config
        )
        in_flight = InFlight()
        subscription = _NatsSubscription(pull, in_flight)
        subscription.loop = asyncio.create_task(
            self._pull(pull, topic, group, handler, prefetch, in_flight)
        )
        self._subscriptions.append(subscription)
        return subscription

    async def close(self) -> None:
        """Close every subscription gracefully, then drain the connection."""
        for subscription in self._subscriptions:
            await subscription.close()
        self._subscriptions.clear()
        await self._client.drain()

    async def _ensure_stream(self) -> None:
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(
                name=self.stream,
                subjects=[f"{self._namespace}.>"],
                storage=api.StorageType.FILE,
                retention=api.RetentionPolicy.LIMITS,
                max_age=_RETENTION.total_seconds(),
                duplicate_window=120.0,
            )

    async def _pull(
        self,
        pull: JetStreamContext.PullSubscription,
        topic: str,
        group: str,
        handler: Handler,
        prefetch: int,
        in_flight: InFlight,
    ) -> None:
        while not in_flight.closing.is_set():
            try:
                batch = await pull.fetch(batch=prefetch, timeout=_FETCH_WAIT)
            except TimeoutError:
                continue
            in_flight.enter()
            try:
                outcomes = await asyncio.gather(
                    *(self._handle(msg, topic, group, handler, in_flight) for msg in batch),
                    return_exceptions=True,
                )
            finally:
                in_flight.leave()
            for outcome in outcomes:
                # Only our own bookkeeping can fail here (the dead-letter store, an ack): the
                # message stays unacked and JetStream redelivers it after ack_wait.
                if isinstance(outcome, Exception):
                    log.error(
                        "message left unacknowledged", topic=topic, group=group, exc_info=outcome
                    )

    async def _handle(
        self, msg: Msg, topic: str, group: str, handler: Handler, in_flight: InFlight
    ) -> None:
        attempt = msg.metadata.num_delivered or 1
        try:
            message = Message.from_bytes(msg.data)
        except ValueError as exc:
            stand_in = unparseable(
                msg.header.get(_MSG_ID, "") if msg.header else "", msg.subject, msg.data, exc
            )
            await self._give_up(
                msg, stand_in, topic, group, "unparseable body", (attempt_of(attempt, exc),)
            )
            return
        headers = dict(msg.header or {})
        key = headers.pop(KEY_HEADER, None)
        headers.pop(_MSG_ID, None)
        delivery = Delivery(message, topic, group, attempt, key, headers)
        try:
            await handler(delivery)
        except Exception as exc:
            # Should the store fail here, the message stays unacked: redelivered after ack_wait.
            attempts = await self._failures.add(group, message.id, attempt_of(attempt, exc))
            if is_permanent(exc) or len(attempts) >= self._policy.max_deliver:
                reason = "permanent error" if is_permanent(exc) else "retries exhausted"
                await self._give_up(msg, message, topic, group, reason, attempts)
                return
            paused = in_flight.closing.is_set()
            await msg.nak(delay=0.0 if paused else self._policy.delay(len(attempts), exc))
            return
        if attempt > 1:  # a redelivery: earlier deliveries may have failed
            await forget_failures(self._failures, group, message.id)
        await msg.ack()

    async def _give_up(
        self,
        msg: Msg,
        message: Message,
        topic: str,
        group: str,
        reason: str,
        attempts: tuple[Attempt, ...],
    ) -> None:
        await self._dead_letters(FailedDelivery(message, topic, group, reason, attempts))
        await forget_failures(self._failures, group, message.id)
        await msg.term()

    async def _on_max_deliveries(self, advisory: Msg) -> None:
        event = json.loads(advisory.data)
        stored = await self._js.get_msg(self.stream, seq=int(event["stream_seq"]))
        info = await self._js.consumer_info(self.stream, str(event["consumer"]))
        owner = json.loads(info.config.description or "{}")
        body = stored.data or b""
        try:
            message = Message.from_bytes(body)
        except ValueError as exc:
            message = unparseable(str(event["stream_seq"]), stored.subject or "", body, exc)
        attempt = Attempt(
            number=int(event.get("deliveries", self._policy.broker_limit)),
            error=f"JetStream gave up after max_deliver deliveries to {event['consumer']}",
            error_type="BrokerDeadLettered",
        )
        failure = FailedDelivery(
            message,
            str(owner.get("topic", "unknown")),
            str(owner.get("group", event["consumer"])),
            "broker: max deliveries",
            (attempt,),
        )
        await self._dead_letters(failure)
        await forget_failures(self._failures, failure.group, message.id)


def _headers(message: Message, key: str | None, headers: Mapping[str, str]) -> dict[str, str]:
    all_headers = dict(headers)
    # JetStream drops a second publish with the same Nats-Msg-Id inside the duplicate window;
    # a replay of a dead letter is a new publish on purpose, so it gets its own id.
    replay_of = headers.get(REPLAY_HEADER)
    all_headers[_MSG_ID] = f"{message.id}:replay:{replay_of}" if replay_of else message.id
    if key is not None:
        all_headers[KEY_HEADER] = key
    return all_headers
