"""Messaging: one bus interface over in-process, RabbitMQ and NATS JetStream backends, the
transactional outbox and its relay, and the inbox that makes consumers idempotent."""

from ledgerbridge.runtime.messaging._bus import (
    DEFAULT_NAMESPACE,
    PERMANENT_ERRORS,
    REPLAY_HEADER,
    Attempt,
    DeadLetterSink,
    Delivery,
    DeliveryPolicy,
    EventBus,
    FailedDelivery,
    Handler,
    Outgoing,
    Subscription,
    is_permanent,
)
from ledgerbridge.runtime.messaging._connect import connect_bus
from ledgerbridge.runtime.messaging._envelope import Message
from ledgerbridge.runtime.messaging._failures import (
    FailureLog,
    LocalFailures,
    StoredFailures,
    delivery_failure,
)
from ledgerbridge.runtime.messaging._inbox import (
    already_consumed,
    consumed_once,
    forget_consumed,
    idempotent_consumer,
    inbox,
)
from ledgerbridge.runtime.messaging._memory import InMemoryBus
from ledgerbridge.runtime.messaging._nats import NatsBus
from ledgerbridge.runtime.messaging._outbox import (
    OutboxLag,
    OutboxRelay,
    add_to_outbox,
    outbox,
    outbox_lag,
)
from ledgerbridge.runtime.messaging._rabbitmq import RabbitMQBus

__all__ = [
    "DEFAULT_NAMESPACE",
    "PERMANENT_ERRORS",
    "REPLAY_HEADER",
    "Attempt",
    "DeadLetterSink",
    "Delivery",
    "DeliveryPolicy",
    "EventBus",
    "FailedDelivery",
    "FailureLog",
    "Handler",
    "InMemoryBus",
    "LocalFailures",
    "Message",
    "NatsBus",
    "OutboxLag",
    "OutboxRelay",
    "Outgoing",
    "RabbitMQBus",
    "StoredFailures",
    "Subscription",
    "add_to_outbox",
    "already_consumed",
    "connect_bus",
    "consumed_once",
    "delivery_failure",
    "forget_consumed",
    "idempotent_consumer",
    "inbox",
    "is_permanent",
    "outbox",
    "outbox_lag",
]
