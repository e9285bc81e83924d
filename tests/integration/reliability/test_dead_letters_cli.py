"""`ledgerbridge dlq list|show|replay|discard|stats` against a real store, with real redelivery."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from click.testing import Result
from tests.integration.brokers.conftest import listening
from tests.integration.reliability.conftest import GROUP, RABBITMQ_URL, Payments, delete_queues
from typer.testing import CliRunner

from ledgerbridge.cli import app
from ledgerbridge.runtime.dead_letters import DeadLetterChannel
from ledgerbridge.runtime.errors import BackendRejected
from ledgerbridge.runtime.messaging import Delivery, DeliveryPolicy, Message, connect_bus
from ledgerbridge.runtime.store import Store

runner = CliRunner()


@pytest.fixture
def dlq(store: Store) -> Any:
    """Runs ``ledgerbridge dlq ...`` on ``store`` (in a thread: the command runs its own loop)."""

    async def run(*args: str, bus_url: str = "memory://") -> Result:
        env = {"LEDGERBRIDGE_DATABASE_URL": store.url, "LEDGERBRIDGE_BUS_URL": bus_url}
        env["COLUMNS"] = "220"
        return await asyncio.to_thread(runner.invoke, app, ["dlq", *args], env=env)

    return run


def _listed(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = json.loads(result.output)
    return items


async def test_list_show_and_discard_with_a_required_reason(payments: Payments, dlq: Any) -> None:
    """Both dead payments are listed, one is shown whole, and a discard without --reason is
    refused while one with a reason closes it."""
    sent = [await payments.pay("97000001", case_id="case-cli"), await payments.pay("97000002")]

    listed = _listed(await dlq("list", "--json"))
    table = await dlq("list", "--consumer", GROUP, "--case", "case-cli")
    first = listed[0]["id"]
    shown = await dlq("show", first, "--json")
    shown_table = await dlq("show", first)
    no_reason = await dlq("discard", first)
    discarded = await dlq("discard", first, "--reason", "paid twice by the customer")

    assert [item["message_id"] for item in listed] == [m.id for m in sent]
    assert first in table.output
    assert "dead letters (1)" in table.output
    assert json.loads(shown.output)["payload"]["data"]["invoice"] == "97000001"
    assert "audit trail" in shown_table.output
    assert "NotFound: invoice 97000001 is unknown" in shown_table.output
    assert no_reason.exit_code == 2
    assert "--reason" in no_reason.output
    assert discarded.exit_code == 0, discarded.output
    [closed] = _listed(await dlq("list", "--status", "discarded", "--json"))
    assert (closed["id"], closed["resolution_note"]) == (first, "paid twice by the customer")
    stats = await dlq("stats")
    assert "resolved" in stats.output
    assert "│ 1 " in stats.output


async def test_replay_through_the_outbox_reaches_the_consumer(payments: Payments, dlq: Any) -> None:
    """With the in-process bus the replay is queued in the outbox, and the serving process's
    relay delivers it: one by id, then the rest by filter, which asks for --yes first."""
    single = await payments.pay("98000001")
    bulk = [await payments.pay(f"9800001{n}", case_id="case-bulk") for n in range(2)]
    letters = _listed(await dlq("list", "--json"))
    payments.known |= {"98000001", "98000010", "98000011"}

    one = await dlq("replay", letters[0]["id"])
    await payments.deliver()
    unconfirmed = await dlq("replay", "--case", "case-bulk")
    confirmed = await dlq("replay", "--case", "case-bulk", "--yes", "--actor", "ops@bank")
    await payments.deliver()

    assert one.exit_code == 0, one.output
    assert "replayed" in one.output
    assert unconfirmed.exit_code == 1
    assert "2 open dead letter(s) match; add --yes" in unconfirmed.output
    assert confirmed.exit_code == 0, confirmed.output
    assert sorted(payments.applied) == sorted([single.id, *(m.id for m in bulk)])
    assert _listed(await dlq("list", "--json")) == []
    again = await dlq("replay", letters[0]["id"])
    assert "skipped" in again.output


@pytest.fixture
async def rabbitmq_namespace() -> AsyncIterator[list[str]]:
    """The queues a test declares on RabbitMQ, deleted afterwards."""
    if not listening(RABBITMQ_URL):
        pytest.skip(f"needs RabbitMQ at {RABBITMQ_URL}; nothing is listening there")
    queues: list[str] = []
    yield queues
    await delete_queues(queues)


async def test_replay_with_a_broker_republishes_to_it(
    store: Store, dlq: Any, rabbitmq_namespace: list[str]
) -> None:
    """A consumer on RabbitMQ dead-letters a payment; once fixed, `dlq replay` publishes it to
    the broker and the consumer applies it."""
    topic = f"payment-received-{uuid.uuid4().hex[:8]}"
    known: set[str] = set()
    applied: list[str] = []

    async def handle(delivery: Delivery) -> None:
        if delivery.message.data["invoice"] not in known:
            raise BackendRejected("unknown invoice", backend="erp", fields=["invoice"])
        applied.append(delivery.message.id)

    bus = await connect_bus(
        RABBITMQ_URL,
        dead_letters=DeadLetterChannel(store.engine),
        policy=DeliveryPolicy(max_deliver=2, backoff=0.01, backoff_cap=0.01),
    )
    try:
        await bus.subscribe(topic, handle, group=GROUP)
        rabbitmq_namespace.append(f"ledgerbridge:{GROUP}:{topic}")
        message = Message(type="payment.received", source="/tests", data={"invoice": "99000001"})
        await bus.publish(topic, message)
        letters = await _eventually(lambda: dlq("list", "--source", topic, "--json"))
        known.add("99000001")

        replayed = await dlq("replay", letters[0]["id"], bus_url=RABBITMQ_URL)

        assert replayed.exit_code == 0, replayed.output
        assert "replayed" in replayed.output
        await _until(lambda: applied == [message.id])
    finally:
        await bus.close()


async def _eventually(listing: Any) -> Sequence[dict[str, Any]]:
    for _ in range(100):
        found = _listed(await listing())
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("no dead letter was recorded")


async def _until(done: Any) -> None:
    for _ in range(100):
        if done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the replay did not reach the consumer")
