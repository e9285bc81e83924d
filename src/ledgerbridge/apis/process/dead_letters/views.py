"""Routes of the dead-letters Process API: the Dead Letter Channel's operator side."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.process.dead_letters import listing, redelivery
from ledgerbridge.apis.process.dead_letters.client import (
    DEAD_LETTER_ID_PATTERN,
    BulkReplayRequest,
    BulkReplayResult,
    DeadLetterDetail,
    DeadLetterSummary,
    DiscardRequest,
    KindName,
    ReplayRequest,
    ReplayResult,
    ResolutionStatsRead,
    StatusName,
)
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.dead_letters import (
    DeadLetterFilter,
    Kind,
    Status,
    discard_dead_letter,
    replay_dead_letters,
    resolution_stats,
    show_dead_letter,
)
from ledgerbridge.runtime.errors import Conflict, LedgerbridgeError, NotFound
from ledgerbridge.runtime.idempotency import install_idempotency
from ledgerbridge.runtime.paging import (
    Cursor,
    Limit,
    Page,
    decode_keyset_cursor,
    encode_keyset_cursor,
)
from ledgerbridge.runtime.security import caller
from ledgerbridge.runtime.security.guard import ADMINISTER, OPERATE, require_scopes

API = ApiMetadata(
    name="dead-letters",
    layer=Layer.PROCESS,
    version=1,
    owner="platform",
    summary="Messages and steps the Process layer gave up on: inspect, replay, discard.",
    scopes=("dead-letters:admin",),
)
# Replaying is the operators' to do, discarding (losing a message for good) the administrators'.
OPERATOR = [Depends(require_scopes(OPERATE))]
ADMINISTRATOR = [Depends(require_scopes(ADMINISTER))]
DeadLetterId = Annotated[
    str,
    Path(
        pattern=DEAD_LETTER_ID_PATTERN,
        description="The dead letter's id.",
        examples=["5b1f0c2e-8d4a-4e61-9a53-0c7d2f4b9e10"],
    ),
]
BULK_RESULTS = ("replayed", "skipped", "failed", "reopened")
Text = Annotated[str | None, Query(min_length=1, max_length=256)]


def _check_window(since: datetime | None, until: datetime | None, *where: str) -> None:
    if since is not None and until is not None and until <= since:
        raise RequestValidationError(
            [{"loc": (*where, "until"), "msg": "must be later than since", "type": "value_error"}]
        )


def _unknown(dead_letter_id: str) -> NotFound:
    return NotFound(f"no dead letter {dead_letter_id}", backend=API.name, fields=["dead_letter_id"])


def _actor(request: Request, claimed: str) -> str:
    """Who acts: the access token's subject when tokens are on, else who the body names."""
    token = caller(request)
    return claimed if token is None else token.subject


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def create_app(deps: ProcessDeps) -> FastAPI:
    """Build the dead-letters API on the Process layer's store."""
    engine = deps.store.engine
    replayer = redelivery.replayer(engine, deps.peers)
    router = APIRouter()

    @router.get("/dead-letters")
    async def list_letters(
        limit: Limit = 50,
        cursor: Cursor = None,
        status: Annotated[
            StatusName | None, Query(description="Only this status.", examples=["open"])
        ] = None,
        kind: Annotated[
            KindName | None, Query(description="message or step.", examples=["message"])
        ] = None,
        source: Annotated[
            Text, Query(description="The topic, or the step.", examples=["invoice-issued"])
        ] = None,
        consumer: Annotated[
            Text, Query(description="The consumer group, or process.", examples=["billing"])
        ] = None,
        case_id: Annotated[
            Text, Query(description="The case it belongs to.", examples=["801000000000001AAA"])
        ] = None,
        correlation_id: Annotated[
            Text, Query(description="The conversation.", examples=["c0ffee00-1234"])
        ] = None,
        since: Annotated[
            datetime | None,
            Query(description="Dead-lettered at or after.", examples=["2026-11-24T00:00:00Z"]),
        ] = None,
        until: Annotated[
            datetime | None,
            Query(description="Dead-lettered before.", examples=["2026-11-25T00:00:00Z"]),
        ] = None,
    ) -> Page[DeadLetterSummary]:
        """Dead letters oldest first, every status unless one is asked for."""
        _check_window(since, until, "query")
        where = DeadLetterFilter(
            status=None if status is None else Status(status),
            kind=None if kind is None else Kind(kind),
            source=source,
            consumer=consumer,
            case_id=case_id,
            correlation_id=correlation_id,
            since=since,
            until=until,
        )
        async with engine.connect() as conn:
            items, last = await listing.page_after(
                conn, where, after=decode_keyset_cursor(cursor), limit=limit
            )
        return Page[DeadLetterSummary](
            items=[listing.summary(d) for d in items],
            next_cursor=None if last is None else encode_keyset_cursor(*last),
        )

    @router.get("/dead-letters/{dead_letter_id}")
    async def get_letter(dead_letter_id: DeadLetterId) -> DeadLetterDetail:
        """One dead letter: payload, error, every attempt, correlation id, case, audit trail."""
        async with engine.connect() as conn:
            shown = await show_dead_letter(conn, dead_letter_id)
        if shown is None:
            raise _unknown(dead_letter_id)
        return listing.detail(*shown)

    @router.post("/dead-letters/{dead_letter_id}/replay", dependencies=OPERATOR)
    async def replay(
        request: Request, dead_letter_id: DeadLetterId, body: ReplayRequest
    ) -> ReplayResult:
        """Hand a dead letter back for delivery; once per dead-lettering, audited."""
        async with engine.connect() as conn:
            if await show_dead_letter(conn, dead_letter_id) is None:
                raise _unknown(dead_letter_id)
        [outcome] = await replay_dead_letters(
            engine, replayer, actor=_actor(request, body.actor), ids=[dead_letter_id]
        )
        return listing.result(outcome)

    @router.post("/replays", dependencies=OPERATOR)
    async def replay_many(request: Request, body: BulkReplayRequest) -> BulkReplayResult:
        """Replay every open dead letter matching the filter (up to ``limit``), audited."""
        match = body.match
        _check_window(match.since, match.until, "body", "match")
        where = DeadLetterFilter(
            status=Status.OPEN,
            kind=None if match.kind is None else Kind(match.kind),
            source=match.source,
            consumer=match.consumer,
            case_id=match.case_id,
            correlation_id=match.correlation_id,
            error_type=match.error_type,
            since=match.since,
            until=match.until,
            limit=body.limit,
        )
        actor = _actor(request, body.actor)
        outcomes = await replay_dead_letters(engine, replayer, actor=actor, where=where)
        results = [listing.result(o) for o in outcomes]
        counts = {name: sum(r.result == name for r in results) for name in BULK_RESULTS}
        return BulkReplayResult(results=results, **counts)

    @router.post("/dead-letters/{dead_letter_id}/discard", dependencies=ADMINISTRATOR)
    async def discard(
        request: Request, dead_letter_id: DeadLetterId, body: DiscardRequest
    ) -> DeadLetterDetail:
        """Close an open dead letter without replaying it; the reason is required and kept."""
        async with engine.begin() as conn:
            try:
                letter = await discard_dead_letter(
                    conn, dead_letter_id, reason=body.reason, actor=_actor(request, body.actor)
                )
            except LedgerbridgeError as exc:
                raise Conflict(exc.message, backend=API.name) from exc
            shown = await show_dead_letter(conn, dead_letter_id)
        if letter is None or shown is None:
            raise _unknown(dead_letter_id)
        return listing.detail(*shown)

    @router.get("/stats")
    async def stats(
        since: Annotated[
            datetime | None,
            Query(description="Resolved at or after.", examples=["2026-11-01T00:00:00Z"]),
        ] = None,
    ) -> ResolutionStatsRead:
        """Time from dead-lettering to resolution: mean, median, p95, longest; open count."""
        async with engine.connect() as conn:
            figures = await resolution_stats(conn, since=since)

        return ResolutionStatsRead(
            resolved=figures.resolved,
            open=figures.open,
            mean_seconds=_seconds(figures.mean),
            median_seconds=_seconds(figures.median),
            p95_seconds=_seconds(figures.p95),
            longest_seconds=_seconds(figures.longest),
        )

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    # Replays and discards are idempotent already; a key also replays the first answer.
    install_idempotency(app, engine=engine, policy=deps.idempotency(required=False))
    return app
