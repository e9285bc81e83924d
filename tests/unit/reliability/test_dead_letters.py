"""Dead letters: recording, listing, replay, discard and time to resolution."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ledgerbridge.runtime.dead_letters import (
    DeadLetter,
    DeadLetterChannel,
    DeadLetterFilter,
    Kind,
    Status,
    discard_dead_letter,
    list_dead_letters,
    record_dead_letter,
    replay_dead_letters,
    republish_to,
    resolution_stats,
    show_dead_letter,
)
from ledgerbridge.runtime.errors import BackendUnavailable, LedgerbridgeError, MappingError
from ledgerbridge.runtime.messaging import (
    Attempt,
    Delivery,
    DeliveryPolicy,
    InMemoryBus,
    Message,
)
from ledgerbridge.runtime.store import Store

FAST = DeliveryPolicy(max_deliver=2, backoff=0.001)


def _order(case_id: str) -> Message:
    return Message.create(
        type="order.accepted", source="/tests", subject=case_id, data={"sku": "UNKNOWN"}
    )


async def _dead_letter_via_bus(store: Store, case_id: str) -> tuple[InMemoryBus, Message, set[str]]:
    """Send one message to a consumer that fails for good on any message id not in the set."""
    bus = InMemoryBus(dead_letters=DeadLetterChannel(store.engine), policy=FAST)
    fixed: set[str] = set()

    async def handle(delivery: Delivery) -> None:
        if delivery.message.id not in fixed:
            raise MappingError(mapping_id="order", field="sku", rule="known", value="UNKNOWN")

    await bus.subscribe("orders", handle, group="erp-orders")
    message = _order(case_id)
    await bus.publish("orders", message)
    await bus.join()
    return bus, message, fixed


async def test_failed_delivery_is_stored_with_everything_needed(store: Store) -> None:
    """A dead-lettered message keeps payload, error, attempts, correlation and case ids."""
    bus, message, _ = await _dead_letter_via_bus(store, "case-1")
    await bus.close()
    async with store.engine.connect() as conn:
        [letter] = await list_dead_letters(conn)
        shown = await show_dead_letter(conn, letter.id)
    assert letter.kind is Kind.MESSAGE
    assert (letter.source, letter.consumer, letter.case_id) == ("orders", "erp-orders", "case-1")
    assert letter.message() == message
    assert letter.correlation_id == message.correlation_id
    assert letter.error_type == "MappingError"
    assert "field 'sku'" in letter.error
    assert letter.reason == "permanent error"
    assert [a.number for a in letter.attempts] == [1]
    assert letter.status is Status.OPEN
    assert shown is not None
    assert [a.action for a in shown[1]] == ["recorded"]


async def test_recording_the_same_failure_twice_keeps_one_row(store: Store) -> None:
    """The consumer and the broker's dead-letter route reporting one failure make one row."""
    attempt = Attempt(number=5, error="boom", error_type="BackendUnavailable")
    async with store.engine.begin() as conn:
        first = await record_dead_letter(
            conn,
            kind=Kind.MESSAGE,
            source="orders",
            consumer="g",
            message_id="m-1",
            payload={},
            reason="retries exhausted",
            attempts=[attempt],
        )
        second = await record_dead_letter(
            conn,
            kind=Kind.MESSAGE,
            source="orders",
            consumer="g",
            message_id="m-1",
            payload={},
            reason="broker: delivery_limit",
            attempts=[attempt],
        )
        letters = await list_dead_letters(conn)
    assert first == second
    assert [d.reason for d in letters] == ["retries exhausted"]


async def test_filters_select_by_case_consumer_kind_and_error(store: Store) -> None:
    """Listing filters by case id, consumer, kind, error type, status and time."""
    failure = Attempt(number=1, error="ERP down", error_type="BackendUnavailable")
    async with store.engine.begin() as conn:
        for n, (kind, consumer, case) in enumerate(
            [
                (Kind.MESSAGE, "billing", "c1"),
                (Kind.STEP, "order-to-cash", "c1"),
                (Kind.MESSAGE, "billing", "c2"),
            ]
        ):
            await record_dead_letter(
                conn,
                kind=kind,
                source="orders" if kind is Kind.MESSAGE else "create_sales_order",
                consumer=consumer,
                message_id=f"m-{n}",
                payload={"n": n},
                reason="retries exhausted",
                attempts=[failure],
                case_id=case,
            )
        by_case = await list_dead_letters(conn, DeadLetterFilter(case_id="c1"))
        steps = await list_dead_letters(conn, DeadLetterFilter(kind=Kind.STEP))
        billing = await list_dead_letters(conn, DeadLetterFilter(consumer="billing", limit=1))
        none_yet = await list_dead_letters(conn, DeadLetterFilter(status=Status.REPLAYED))
        by_error = await list_dead_letters(conn, DeadLetterFilter(error_type="MappingError"))
        future = await list_dead_letters(
            conn, DeadLetterFilter(since=datetime.now(UTC) + timedelta(minutes=1))
        )
    assert sorted(d.payload["n"] for d in by_case) == [0, 1]
    assert [d.source for d in steps] == ["create_sales_order"]
    assert [d.payload["n"] for d in billing] == [0]
    assert none_yet == by_error == future == []


async def test_replay_after_the_fix_resolves_and_is_idempotent(store: Store) -> None:
    """Replaying once the cause is fixed closes the dead letter; replaying again is skipped."""
    bus, message, fixed = await _dead_letter_via_bus(store, "case-2")
    fixed.add(message.id)
    outcomes = await replay_dead_letters(
        store.engine, republish_to(bus), actor="ops", where=DeadLetterFilter(case_id="case-2")
    )
    await bus.join()
    [letter_id] = [o.id for o in outcomes]
    again = await replay_dead_letters(store.engine, republish_to(bus), actor="ops", ids=[letter_id])
    await bus.join()
    await bus.close()
    async with store.engine.connect() as conn:
        shown = await show_dead_letter(conn, letter_id)
        stats = await resolution_stats(conn)
    assert [o.result for o in outcomes] == ["replayed"]
    assert [(o.result, o.detail) for o in again] == [("skipped", "dead letter is replayed")]
    assert shown is not None
    letter, actions = shown
    assert (letter.status, letter.replay_count, letter.resolved_by) == (Status.REPLAYED, 1, "ops")
    assert letter.time_to_resolution is not None
    assert [a.action for a in actions] == ["recorded", "replay", "replayed"]
    assert (stats.resolved, stats.open) == (1, 0)
    assert stats.median is not None


async def test_a_replay_that_fails_again_reopens_the_dead_letter(store: Store) -> None:
    """When the replayed message fails again the dead letter is open again with more attempts."""
    bus, _, _ = await _dead_letter_via_bus(store, "case-3")
    [outcome] = await replay_dead_letters(
        store.engine, republish_to(bus), actor="ops", where=DeadLetterFilter(case_id="case-3")
    )
    await bus.join()
    await bus.close()
    async with store.engine.connect() as conn:
        shown = await show_dead_letter(conn, outcome.id)
    assert shown is not None
    letter, actions = shown
    assert letter.status is Status.OPEN
    assert len(letter.attempts) == 2
    assert letter.resolved_at is None
    assert "reopened" in [a.action for a in actions]


async def test_concurrent_replays_of_one_dead_letter_replay_it_once(store: Store) -> None:
    """Five replays racing on one dead letter call the replayer once."""
    bus, _, _ = await _dead_letter_via_bus(store, "case-4")
    await bus.close()
    calls: list[str] = []

    async def replayer(letter: DeadLetter) -> None:
        calls.append(letter.id)
        await asyncio.sleep(0.01)

    async with store.engine.connect() as conn:
        [letter] = await list_dead_letters(conn)
    results = await asyncio.gather(
        *(
            replay_dead_letters(store.engine, replayer, actor="ops", ids=[letter.id])
            for _ in range(5)
        )
    )
    assert calls == [letter.id]
    assert sorted(r[0].result for r in results) == ["replayed"] + ["skipped"] * 4


async def test_a_failing_replayer_leaves_the_dead_letter_open(store: Store) -> None:
    """If the replay itself fails (broker down) the dead letter stays open and says why."""
    bus, _, _ = await _dead_letter_via_bus(store, "case-5")
    await bus.close()

    async def broker_down(letter: DeadLetter) -> None:
        raise BackendUnavailable("broker unreachable", backend="rabbitmq")

    [outcome] = await replay_dead_letters(store.engine, broker_down, actor="ops")
    async with store.engine.connect() as conn:
        shown = await show_dead_letter(conn, outcome.id)
    assert outcome.result == "failed"
    assert "broker unreachable" in outcome.detail
    assert shown is not None
    assert shown[0].status is Status.OPEN
    assert [a.action for a in shown[1]][-1] == "replay_failed"


async def test_discard_needs_a_reason_and_closes_the_dead_letter(store: Store) -> None:
    """Discard records who and why, is repeatable, and a discarded letter is not replayed."""
    bus, _, _ = await _dead_letter_via_bus(store, "case-6")
    async with store.engine.connect() as conn:
        [letter] = await list_dead_letters(conn)
    async with store.engine.begin() as conn:
        with pytest.raises(ValueError, match="reason"):
            await discard_dead_letter(conn, letter.id, reason=" ", actor="ops")
        discarded = await discard_dead_letter(conn, letter.id, reason="test order", actor="ops")
        again = await discard_dead_letter(conn, letter.id, reason="test order", actor="ops")
        unknown = await discard_dead_letter(conn, "no-such-id", reason="x", actor="ops")
    outcomes = await replay_dead_letters(
        store.engine, republish_to(bus), actor="ops", ids=[letter.id]
    )
    await bus.close()
    assert discarded is not None
    assert (discarded.status, discarded.resolution_note) == (Status.DISCARDED, "test order")
    assert again == discarded
    assert unknown is None
    assert outcomes[0].result == "skipped"


async def test_discarding_a_replayed_dead_letter_is_refused(store: Store) -> None:
    """A dead letter already replayed cannot be discarded afterwards."""
    bus, message, fixed = await _dead_letter_via_bus(store, "case-7")
    fixed.add(message.id)
    [outcome] = await replay_dead_letters(store.engine, republish_to(bus), actor="ops")
    await bus.join()
    await bus.close()
    async with store.engine.begin() as conn:
        with pytest.raises(LedgerbridgeError, match="replayed, not open"):
            await discard_dead_letter(conn, outcome.id, reason="late", actor="ops")


async def test_a_replay_that_fails_again_at_once_reports_reopened(store: Store) -> None:
    """A step replayed synchronously that fails again leaves its dead letter open, counted."""
    failure = Attempt(number=1, error="credit check refused", error_type="BackendRejected")

    async def record(attempts: list[Attempt]) -> str:
        async with store.engine.begin() as conn:
            return await record_dead_letter(
                conn,
                kind=Kind.STEP,
                source="check_credit",
                consumer="order-to-cash",
                message_id="case-10:check_credit",
                payload={"case_id": "case-10"},
                reason="permanent error",
                attempts=attempts,
                case_id="case-10",
            )

    letter_id = await record([failure])

    async def rerun_step(letter: DeadLetter) -> None:
        await record([Attempt(number=2, error="still refused", error_type="BackendRejected")])

    [outcome] = await replay_dead_letters(store.engine, rerun_step, actor="ops", ids=[letter_id])
    async with store.engine.connect() as conn:
        shown = await show_dead_letter(conn, letter_id)
    assert (outcome.result, outcome.detail) == ("reopened", "the replayed item failed again")
    assert shown is not None
    letter, actions = shown
    assert (letter.status, letter.replay_count, letter.error) == (Status.OPEN, 1, "still refused")
    assert [a.number for a in letter.attempts] == [1, 2]
    assert [a.action for a in actions] == ["recorded", "replay", "reopened"]
