"""Step dead letters: a step reports its whole attempt history each time it fails; the row
keeps each attempt once, and follows the step when it fails again while open or replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledgerbridge.runtime.dead_letters import (
    Kind,
    Status,
    record_dead_letter,
    replay_dead_letters,
    show_dead_letter,
)
from ledgerbridge.runtime.messaging import Attempt
from ledgerbridge.runtime.store import Store

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _tried(count: int, last_error: str) -> list[Attempt]:
    """``count`` attempts a minute apart: passing ones, then the lasting one."""
    attempts = [
        Attempt(
            number=n, error="ERP unavailable", error_type="passing", at=START + timedelta(minutes=n)
        )
        for n in range(1, count)
    ]
    at = START + timedelta(minutes=count)
    return [*attempts, Attempt(number=count, error=last_error, error_type="BackendRejected", at=at)]


async def _record(store: Store, attempts: list[Attempt], review_id: str) -> str:
    async with store.engine.begin() as conn:
        return await record_dead_letter(
            conn,
            kind=Kind.STEP,
            source="create-sales-order",
            consumer="order-to-cash",
            message_id="case-7:create-sales-order",
            payload={"case_id": "case-7", "review_id": review_id},
            reason="permanent error",
            attempts=attempts,
            correlation_id=f"cid-{review_id}",
            case_id="case-7",
        )


async def test_a_step_failing_again_keeps_each_attempt_once(store: Store) -> None:
    """Failing again while open updates the row (payload, error, the new attempt only);
    failing again after a replay reopens it, again adding only what is new."""
    letter_id = await _record(store, _tried(2, "material X does not exist"), "review-1")
    assert await _record(store, _tried(3, "material Y does not exist"), "review-2") == letter_id
    async with store.engine.connect() as conn:
        shown = await show_dead_letter(conn, letter_id)
    assert shown is not None
    letter, actions = shown
    assert [a.number for a in letter.attempts] == [1, 2, 3]
    assert (letter.status, letter.error) == (Status.OPEN, "material Y does not exist")
    assert (letter.payload["review_id"], letter.correlation_id) == ("review-2", "cid-review-2")
    assert [a.action for a in actions] == ["recorded", "failed again"]

    async def fails_again(_: object) -> None:
        await _record(store, _tried(4, "material Z does not exist"), "review-3")

    [outcome] = await replay_dead_letters(store.engine, fails_again, actor="ops", ids=[letter_id])
    async with store.engine.connect() as conn:
        shown = await show_dead_letter(conn, letter_id)
    assert shown is not None
    letter, actions = shown
    assert outcome.result == "reopened"
    assert [a.number for a in letter.attempts] == [1, 2, 3, 4]
    assert (letter.status, letter.payload["review_id"]) == (Status.OPEN, "review-3")
    assert [a.action for a in actions][-2:] == ["replay", "reopened"]


async def test_the_same_report_twice_changes_nothing(store: Store) -> None:
    """A step reporting the same history again (no new attempt) leaves its row as it was."""
    letter_id = await _record(store, _tried(2, "material X does not exist"), "review-1")
    await _record(store, _tried(2, "material X does not exist"), "review-1")
    async with store.engine.connect() as conn:
        shown = await show_dead_letter(conn, letter_id)
    assert shown is not None
    assert [a.number for a in shown[0].attempts] == [1, 2]
    assert [a.action for a in shown[1]] == ["recorded"]
