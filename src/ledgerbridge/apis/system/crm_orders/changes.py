"""The CRM's Order changes, republished on the bus: the bridge from Change Data Capture.

A ``ChangeSubscription`` on the CRM's ``OrderChangeEvent`` channel writes, in the transaction
that saves its replay id, one outbox message each time an Order's Status becomes "Activated"
(``crm.order.activated``) or "Cancelled" (``crm.order.cancelled``); the outbox relay then
publishes it. Other Order changes only move the checkpoint.

A message's id is derived from the change event (channel, replay id, order), so the same
change read twice (a second worker running the bridge, or a replay after a crash before the
checkpoint moved) becomes the same message: the outbox keeps one, and a consumer's inbox
drops a repeat all the same. A failed stream (the CRM down, a session lost) is opened again
from the checkpoint after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledgerbridge.apis.system.crm_orders.client import (
    ORDER_ACTIVATED,
    ORDER_CANCELLED,
    OrderStatusChanged,
)
from ledgerbridge.connectors.salesforce import ChangeEvent, ChangeSubscription, SalesforceClient
from ledgerbridge.runtime.messaging import Message, add_to_outbox, outbox

log = structlog.get_logger("ledgerbridge.system.crm_orders.changes")
CHANNEL = "OrderChangeEvent"
CONSUMER = "system.crm-orders"
SOURCE = "/system/crm-orders"
# The CRM Order Status values that become a message, and the topic of each.
TOPICS = {"Activated": ORDER_ACTIVATED, "Cancelled": ORDER_CANCELLED}
_NAMESPACE = uuid.UUID("6f1d3c0e-8a4b-4c53-9a57-0c2d6f7e4b21")


def messages_of(event: ChangeEvent) -> list[tuple[str, Message]]:
    """The messages one change event becomes: (topic, message) per Order whose Status it
    set to a value in ``TOPICS``; none for any other change."""
    if event.entity != "Order" or event.change_type not in ("CREATE", "UPDATE"):
        return []
    if event.change_type == "UPDATE" and "Status" not in event.changed_fields:
        return []
    topic = TOPICS.get(str(event.fields.get("Status")))
    if topic is None:
        return []
    found = []
    for order_id in event.record_ids:
        data = OrderStatusChanged(crm_order_id=order_id).model_dump()
        message = Message.create(type=topic, source=SOURCE, subject=order_id, data=data)
        stable = uuid.uuid5(_NAMESPACE, f"{CHANNEL}:{event.replay_id}:{order_id}")
        found.append((topic, message.model_copy(update={"id": str(stable)})))
    return found


async def publish_change(conn: AsyncConnection, event: ChangeEvent) -> None:
    """The subscription's handler: the event's messages into the outbox, each once."""
    for topic, message in messages_of(event):
        known = await conn.execute(
            sa.select(outbox.c.message_id).where(outbox.c.message_id == message.id)
        )
        if known.first() is not None:
            continue
        await add_to_outbox(conn, topic, message, key=message.subject)
        log.info("crm order change published", topic=topic, crm_order_id=message.subject)


async def bridge_order_changes(
    crm: SalesforceClient, engine: AsyncEngine, *, pause: float = 1.0
) -> None:
    """Follow the CRM's Order changes into the outbox until cancelled, outliving a failed
    stream: it is opened again from the checkpoint after ``pause`` seconds."""
    subscription = ChangeSubscription(
        crm, engine, consumer=CONSUMER, handler=publish_change, channel=CHANNEL
    )
    while True:
        try:
            await subscription.run(follow=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("crm order changes stream failed; opening it again")
        await asyncio.sleep(pause)


@contextlib.asynccontextmanager
async def order_changes_bridge(
    crm: SalesforceClient, engine: AsyncEngine, *, pause: float = 1.0
) -> AsyncIterator[asyncio.Task[None]]:
    """Run the bridge in the background while the block runs; leaving it stops the bridge
    at once (an event in hand rolls back with its checkpoint, and is read again next time)."""
    task = asyncio.create_task(bridge_order_changes(crm, engine, pause=pause), name="crm-cdc")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = [
    "CHANNEL",
    "CONSUMER",
    "TOPICS",
    "bridge_order_changes",
    "messages_of",
    "order_changes_bridge",
    "publish_change",
]
