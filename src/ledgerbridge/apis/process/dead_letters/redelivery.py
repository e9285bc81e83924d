"""How a replayed dead letter is delivered again: through the outbox, to the configured bus.

The dead message goes back into the outbox with its own id (so the consumers that had
handled it skip it through their inbox) and a replay header; the relay of whichever worker
runs against this store publishes it to the configured bus, in-process or a broker. That
makes a replay reach the consumers wherever the API runs, and survive a crash between the
replay and the publish. The command line, with a broker configured, publishes the replay to the
broker itself (``open_replayer``), so it needs no relay to be running.

A dead process step is run again by its process, over that Process API's HTTP contract
(``replayer``): an order-to-cash step is retried through the failure review its case opened,
which runs the case again from the last state it reached; a step failing again reopens its
dead letter. The command line has no Process API to call, so there a step's replay fails
saying so, and the dead letter stays open.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ledgerbridge.apis.process.order_to_cash.client import OrderToCashClient, ReviewDecision
from ledgerbridge.runtime.dead_letters import (
    DeadLetter,
    DeadLetterChannel,
    Kind,
    Replayer,
    republish_to,
)
from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.messaging import DEFAULT_NAMESPACE, REPLAY_HEADER, connect_bus, outbox


def replay_key(letter: DeadLetter) -> str:
    """Names one replay of one dead letter: ``<dead letter id>/<replay number>``."""
    return f"{letter.id}/{letter.replay_count + 1}"


# The consumer name order-to-cash files its step dead letters under.
ORDER_TO_CASH = "order-to-cash"
REPLAY_ACTOR = "dead-letters"


def replayer(engine: AsyncEngine, peers: httpx.AsyncClient) -> Replayer:
    """A replayer for both kinds: a message goes back through the outbox, a step is run
    again by its process through ``peers`` (the Process APIs' HTTP transport)."""
    messages = through_outbox(engine)

    async def replay(letter: DeadLetter) -> None:
        if letter.kind is Kind.MESSAGE:
            await messages(letter)
            return
        review_id = letter.payload.get("review_id")
        if letter.consumer != ORDER_TO_CASH or not isinstance(review_id, str):
            raise LedgerbridgeError(
                f"dead letter {letter.id} is a step of {letter.consumer}: "
                "no process registers a runner for it"
            )
        decision = ReviewDecision(actor=REPLAY_ACTOR, note=f"replay of dead letter {letter.id}")
        await OrderToCashClient(peers).retry(review_id, decision)

    return replay


def through_outbox(engine: AsyncEngine) -> Replayer:
    """A replayer that queues a dead message in the outbox again, for the relay to publish."""

    async def requeue(letter: DeadLetter) -> None:
        if letter.kind is not Kind.MESSAGE:
            raise LedgerbridgeError(
                f"dead letter {letter.id} is a {letter.kind} of {letter.consumer}: "
                "no process registers a runner for its steps"
            )
        message = letter.message()
        key = replay_key(letter)
        async with engine.begin() as conn:
            # The outbox keys rows by message id, and the original row keeps this message's
            # id: the replay's row is keyed by the replay instead, so each replay is one row.
            await conn.execute(
                outbox.insert().values(
                    message_id=f"replay:{key}",
                    topic=letter.source,
                    headers={REPLAY_HEADER: key},
                    body=message.model_dump_json(),
                    created_at=datetime.now(UTC),
                )
            )

    return requeue


@contextlib.asynccontextmanager
async def open_replayer(
    engine: AsyncEngine, bus_url: str, namespace: str = DEFAULT_NAMESPACE
) -> AsyncIterator[Replayer]:
    """The replayer for a process outside the workers (the command line).

    With a broker configured, the replay is published to it directly; the in-process bus
    lives in the serving process, so there the replay goes through the outbox for its relay.
    """
    if urlsplit(bus_url).scheme == "memory":
        yield through_outbox(engine)
        return
    bus = await connect_bus(bus_url, dead_letters=DeadLetterChannel(engine), namespace=namespace)
    try:
        yield republish_to(bus)
    finally:
        await bus.close()
