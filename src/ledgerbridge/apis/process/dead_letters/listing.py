"""Dead letters read from the store: keyset pages, and their published shapes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.dead_letters.client import (
    ActionRead,
    AttemptRead,
    DeadLetterDetail,
    DeadLetterSummary,
    ReplayResult,
)
from ledgerbridge.runtime.dead_letters import (
    ActionRecord,
    DeadLetter,
    DeadLetterFilter,
    ReplayOutcome,
    list_dead_letters,
)

Position = tuple[datetime, str]


async def page_after(
    conn: AsyncConnection, where: DeadLetterFilter, *, after: Position | None, limit: int
) -> tuple[list[DeadLetter], Position | None]:
    """Up to ``limit`` dead letters matching ``where`` past ``after``, oldest first, and the
    position of the last one when more follow.

    Dead letters are ordered by (dead-lettered at, id); the store's filter only bounds the
    time, so the ones at ``after``'s very instant that were already shown are dropped here.
    """
    since = after[0] if after and (where.since is None or after[0] > where.since) else where.since
    fetch = limit + 1
    while True:
        found = await list_dead_letters(conn, dataclasses.replace(where, since=since, limit=fetch))
        kept = [d for d in found if after is None or (d.dead_lettered_at, d.id) > after]
        shown_again = len(found) - len(kept)
        if shown_again == 0 or len(found) < fetch or fetch == limit + 1 + shown_again:
            break
        fetch = limit + 1 + shown_again
    items = kept[:limit]
    more = len(kept) > limit
    return items, (items[-1].dead_lettered_at, items[-1].id) if more and items else None


def summary(letter: DeadLetter) -> DeadLetterSummary:
    """The listed shape of a dead letter."""
    return DeadLetterSummary.model_validate(_summary_fields(letter))


def detail(letter: DeadLetter, actions: Sequence[ActionRecord]) -> DeadLetterDetail:
    """The whole shape of a dead letter, with its audit trail."""
    return DeadLetterDetail(
        **_summary_fields(letter),
        payload=letter.payload,
        created_at=letter.created_at,
        attempts=[AttemptRead.model_validate(a, from_attributes=True) for a in letter.attempts],
        actions=[ActionRead.model_validate(a, from_attributes=True) for a in actions],
    )


def result(outcome: ReplayOutcome) -> ReplayResult:
    """The published shape of one replay's outcome."""
    return ReplayResult.model_validate(outcome, from_attributes=True)


def _summary_fields(letter: DeadLetter) -> dict[str, object]:
    waited = letter.time_to_resolution
    return {
        "id": letter.id,
        "kind": letter.kind.value,
        "source": letter.source,
        "consumer": letter.consumer,
        "message_id": letter.message_id,
        "message_type": letter.message_type,
        "reason": letter.reason,
        "error": letter.error,
        "error_type": letter.error_type,
        "correlation_id": letter.correlation_id,
        "case_id": letter.case_id,
        "status": letter.status.value,
        "replay_count": letter.replay_count,
        "attempt_count": len(letter.attempts),
        "dead_lettered_at": letter.dead_lettered_at,
        "resolved_at": letter.resolved_at,
        "resolved_by": letter.resolved_by,
        "resolution_note": letter.resolution_note,
        "time_to_resolution_seconds": None if waited is None else waited.total_seconds(),
    }
