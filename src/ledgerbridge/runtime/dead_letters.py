"""Dead Letter Channel: messages and steps given up on, kept for people to fix and replay.

A message whose retries are exhausted, or whose error is permanent, lands here with its
payload, the error, every attempt, the correlation id and the case it belongs to. Operators
list and inspect them, replay one or many (replay is idempotent: a dead letter is replayed at
most once per time it was dead-lettered), or discard them with a reason. Every action is
audited in ``dead_letter_action``, and the time from dead-lettering to resolution is measured.

Usage::

    channel = DeadLetterChannel(store.engine)
    bus = await connect_bus(url, dead_letters=channel)       # failed deliveries land here
    async with store.engine.connect() as conn:
        open_ones = await list_dead_letters(conn, DeadLetterFilter(case_id=case_id))
    await replay_dead_letters(store.engine, republish_to(bus), ids=[d.id for d in open_ones],
                              actor="ops@bank")
"""

from __future__ import annotations

import enum
import statistics
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.messaging import (
    REPLAY_HEADER,
    Attempt,
    EventBus,
    FailedDelivery,
    Message,
)
from ledgerbridge.runtime.observability import record_dead_letter_action
from ledgerbridge.runtime.store.schema import metadata

# A replay whose process died is claimable again after this long.
_STALE_REPLAY = timedelta(minutes=5)

dead_letter = sa.Table(
    "dead_letter",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("source", sa.String(256), nullable=False),
    sa.Column("consumer", sa.String(128), nullable=False),
    sa.Column("message_id", sa.String(128), nullable=False),
    sa.Column("message_type", sa.String(128)),
    sa.Column("dedup_key", sa.String(420), nullable=False, unique=True),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("reason", sa.String(128), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("error_type", sa.String(128), nullable=False),
    sa.Column("attempts", sa.JSON(), nullable=False),
    sa.Column("correlation_id", sa.String(128), index=True),
    sa.Column("case_id", sa.String(128), index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("replay_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dead_lettered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_by", sa.String(128)),
    sa.Column("resolution_note", sa.Text()),
)

dead_letter_action = sa.Table(
    "dead_letter_action",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "dead_letter_id",
        sa.String(36),
        sa.ForeignKey("dead_letter.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("note", sa.Text()),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


class Status(enum.StrEnum):
    """Where a dead letter stands."""

    OPEN = "open"
    REPLAYING = "replaying"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class Kind(enum.StrEnum):
    """What failed: a consumed message or a process step."""

    MESSAGE = "message"
    STEP = "step"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead letter as stored."""

    id: str
    kind: Kind
    source: str
    consumer: str
    message_id: str
    message_type: str | None
    payload: dict[str, Any]
    reason: str
    error: str
    error_type: str
    attempts: tuple[Attempt, ...]
    correlation_id: str | None
    case_id: str | None
    status: Status
    replay_count: int
    created_at: datetime
    dead_lettered_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None

    @property
    def time_to_resolution(self) -> timedelta | None:
        """From the latest dead-lettering to replay or discard; None while unresolved."""
        return self.resolved_at - self.dead_lettered_at if self.resolved_at else None

    def message(self) -> Message:
        """The dead message's envelope (for ``kind == "message"``)."""
        return Message.model_validate(self.payload)


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters to list or replay; unset fields match everything."""

    status: Status | None = Status.OPEN
    kind: Kind | None = None
    source: str | None = None
    consumer: str | None = None
    case_id: str | None = None
    correlation_id: str | None = None
    error_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One audited action on a dead letter."""

    action: str
    actor: str
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What happened to one dead letter in a replay.

    ``result`` is ``replayed``, ``skipped`` (not open), ``failed`` (the replayer raised; the
    dead letter stays open) or ``reopened`` (the replayed item failed again at once).
    """

    id: str
    result: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ResolutionStats:
    """Time from dead-lettering to resolution over the resolved dead letters."""

    resolved: int
    open: int
    mean: timedelta | None = None
    median: timedelta | None = None
    p95: timedelta | None = None
    longest: timedelta | None = None


Replayer = Callable[[DeadLetter], Awaitable[None]]


async def record_dead_letter(
    conn: AsyncConnection,
    *,
    kind: Kind,
    source: str,
    consumer: str,
    message_id: str,
    payload: dict[str, Any],
    reason: str,
    attempts: Sequence[Attempt],
    message_type: str | None = None,
    correlation_id: str | None = None,
    case_id: str | None = None,
) -> str:
    """Store a dead letter, or reopen the one already kept for the same item; returns its id.

    Recording the same failure twice (the consumer and the broker's dead-letter route both
    report it) keeps one open row. A replayed item that fails again reopens its row with the
    new attempts appended. A step reports every attempt it made each time it fails: only
    those later than the row's last are appended, and a step failing again while its row is
    open (it was retried another way) updates the row's payload, error and attempts.

    Args:
        conn: The connection to write with (its transaction commits the row).
        kind: A consumed message or a process step.
        source: The topic, or the step's name.
        consumer: The consumer group, or the process.
        message_id: The message id, or the step run's id: with ``kind`` and ``consumer`` it
            identifies the item.
        payload: The message envelope, or the step's input.
        reason: Why it was given up on ("retries exhausted", "permanent error", ...).
        attempts: The failed attempts, oldest first; the last one's error is the cause.
        message_type: The message type, when a message.
        correlation_id: The correlation id of the conversation.
        case_id: The case (order, invoice...) the item belongs to.
    """
    if not attempts:
        raise ValueError("a dead letter needs at least one failed attempt")
    now = datetime.now(UTC)
    last = attempts[-1]
    dedup_key = f"{kind}:{consumer}:{message_id}"
    new_id = str(uuid.uuid4())
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = await conn.execute(
        dialect.insert(dead_letter)
        .values(
            id=new_id,
            kind=kind,
            source=source,
            consumer=consumer,
            message_id=message_id,
            message_type=message_type,
            dedup_key=dedup_key,
            payload=payload,
            reason=reason,
            error=last.error,
            error_type=last.error_type,
            attempts=[_attempt_json(a) for a in attempts],
            correlation_id=correlation_id,
            case_id=case_id,
            status=Status.OPEN,
            created_at=now,
            dead_lettered_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
    )
    if inserted.rowcount == 1:
        await _audit(conn, new_id, "recorded", "system", reason)
        return new_id
    row = (
        await conn.execute(
            sa.select(dead_letter.c.id, dead_letter.c.status, dead_letter.c.attempts)
            .where(dead_letter.c.dedup_key == dedup_key)
            .with_for_update()
        )
    ).one()
    fresh = list(attempts)
    if kind is Kind.STEP and row.attempts:
        # A step reports its whole attempt history each time: keep only what is new.
        known = _attempt(row.attempts[-1]).at
        fresh = [a for a in attempts if _utc(a.at) > _utc(known)]
    if row.status == Status.OPEN and kind is Kind.STEP and fresh:
        # The step failed again while its dead letter was open (retried another way).
        await conn.execute(
            dead_letter.update()
            .where(dead_letter.c.id == row.id)
            .values(
                reason=reason,
                error=last.error,
                error_type=last.error_type,
                attempts=[*row.attempts, *(_attempt_json(a) for a in fresh)],
                payload=payload,
                correlation_id=correlation_id,
                updated_at=now,
            )
        )
        await _audit(conn, row.id, "failed again", "system", f"{reason}: {last.error}")
    if row.status in (Status.REPLAYING, Status.REPLAYED):
        await conn.execute(
            dead_letter.update()
            .where(dead_letter.c.id == row.id)
            .values(
                status=Status.OPEN,
                reason=reason,
                error=last.error,
                error_type=last.error_type,
                attempts=[*row.attempts, *(_attempt_json(a) for a in fresh)],
                payload=payload,
                dead_lettered_at=now,
                updated_at=now,
                resolved_at=None,
                resolved_by=None,
                resolution_note=None,
            )
        )
        await _audit(conn, row.id, "reopened", "system", f"{reason}: {last.error}")
    return str(row.id)


class DeadLetterChannel:
    """The bus's dead-letter sink, backed by the store.

    Usage::

        bus = await connect_bus(url, dead_letters=DeadLetterChannel(store.engine))
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def __call__(self, failure: FailedDelivery) -> None:
        """Record ``failure`` as a message dead letter."""
        message = failure.message
        async with self._engine.begin() as conn:
            await record_dead_letter(
                conn,
                kind=Kind.MESSAGE,
                source=failure.topic,
                consumer=failure.group,
                message_id=message.id,
                message_type=message.type,
                payload=message.model_dump(mode="json"),
                reason=failure.reason,
                attempts=failure.attempts,
                correlation_id=message.correlation_id,
                case_id=message.subject,
            )


async def list_dead_letters(
    conn: AsyncConnection, where: DeadLetterFilter | None = None
) -> list[DeadLetter]:
    """Dead letters matching ``where`` (by default: the open ones), oldest first."""
    query = (
        sa.select(*_COLUMNS)
        .where(*_conditions(where or DeadLetterFilter()))
        .order_by(dead_letter.c.dead_lettered_at, dead_letter.c.id)
        .limit((where or DeadLetterFilter()).limit)
    )
    return [_dead_letter(row) for row in (await conn.execute(query)).all()]


async def show_dead_letter(
    conn: AsyncConnection, dead_letter_id: str
) -> tuple[DeadLetter, list[ActionRecord]] | None:
    """One dead letter and its audit trail, or None when there is no such id."""
    row = (
        await conn.execute(sa.select(*_COLUMNS).where(dead_letter.c.id == dead_letter_id))
    ).first()
    if row is None:
        return None
    actions = (
        await conn.execute(
            sa.select(
                dead_letter_action.c.action,
                dead_letter_action.c.actor,
                dead_letter_action.c.note,
                dead_letter_action.c.at,
            )
            .where(dead_letter_action.c.dead_letter_id == dead_letter_id)
            .order_by(dead_letter_action.c.id)
        )
    ).all()
    return _dead_letter(row), [ActionRecord(a.action, a.actor, a.note, _utc(a.at)) for a in actions]


async def discard_dead_letter(
    conn: AsyncConnection, dead_letter_id: str, *, reason: str, actor: str
) -> DeadLetter | None:
    """Close an open dead letter without replaying it; returns it, or None if unknown.

    Discarding twice is harmless; discarding one already replayed is refused.
    """
    if not reason.strip():
        raise ValueError("discarding a dead letter needs a reason")
    now = datetime.now(UTC)
    changed = await conn.execute(
        dead_letter.update()
        .where((dead_letter.c.id == dead_letter_id) & (dead_letter.c.status == Status.OPEN))
        .values(
            status=Status.DISCARDED,
            resolved_at=now,
            resolved_by=actor,
            resolution_note=reason,
            updated_at=now,
        )
    )
    if changed.rowcount == 1:
        await _audit(conn, dead_letter_id, "discarded", actor, reason)
    shown = await show_dead_letter(conn, dead_letter_id)
    if shown is None:
        return None
    if shown[0].status is not Status.DISCARDED:
        raise LedgerbridgeError(f"dead letter {dead_letter_id} is {shown[0].status}, not open")
    return shown[0]


async def replay_dead_letters(
    engine: AsyncEngine,
    replayer: Replayer,
    *,
    actor: str,
    ids: Sequence[str] | None = None,
    where: DeadLetterFilter | None = None,
) -> list[ReplayOutcome]:
    """Replay the given dead letters, or those matching ``where``; one outcome for each.

    Each is claimed (open -> replaying) before ``replayer`` runs, so concurrent or repeated
    replays of one dead letter run it once; an already replayed or discarded one is skipped.
    A replayer that raises leaves the dead letter open, with the failure in its audit trail.
    """
    if ids is None:
        async with engine.connect() as conn:
            ids = [d.id for d in await list_dead_letters(conn, where or DeadLetterFilter())]
    return [await _replay_one(engine, replayer, dead_letter_id, actor) for dead_letter_id in ids]


def republish_to(bus: EventBus) -> Replayer:
    """A replayer that publishes a dead message again on its topic.

    Every group subscribed to the topic sees it again; those that had consumed it skip it
    through their inbox (``consumed_once``).
    """

    async def republish(letter: DeadLetter) -> None:
        if letter.kind is not Kind.MESSAGE:
            raise LedgerbridgeError(f"dead letter {letter.id} is a {letter.kind}, not a message")
        replay = f"{letter.id}/{letter.replay_count + 1}"
        await bus.publish(letter.source, letter.message(), headers={REPLAY_HEADER: replay})

    return republish


async def resolution_stats(
    conn: AsyncConnection, *, since: datetime | None = None
) -> ResolutionStats:
    """Time to resolution over dead letters resolved since ``since`` (all when None)."""
    resolved_query = sa.select(dead_letter.c.dead_lettered_at, dead_letter.c.resolved_at).where(
        dead_letter.c.resolved_at.is_not(None)
    )
    if since is not None:
        resolved_query = resolved_query.where(dead_letter.c.resolved_at >= since)
    rows = (await conn.execute(resolved_query)).all()
    open_count = (
        await conn.execute(
            sa.select(sa.func.count()).where(
                dead_letter.c.status.in_([Status.OPEN, Status.REPLAYING])
            )
        )
    ).scalar_one()
    seconds = sorted((_utc(r.resolved_at) - _utc(r.dead_lettered_at)).total_seconds() for r in rows)
    if not seconds:
        return ResolutionStats(resolved=0, open=int(open_count))
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    return ResolutionStats(
        resolved=len(seconds),
        open=int(open_count),
        mean=timedelta(seconds=statistics.fmean(seconds)),
        median=timedelta(seconds=statistics.median(seconds)),
        p95=timedelta(seconds=p95),
        longest=timedelta(seconds=seconds[-1]),
    )


async def _replay_one(
    engine: AsyncEngine, replayer: Replayer, dead_letter_id: str, actor: str
) -> ReplayOutcome:
    now = datetime.now(UTC)
    claimable = (dead_letter.c.status == Status.OPEN) | (
        (dead_letter.c.status == Status.REPLAYING)
        & (dead_letter.c.updated_at < now - _STALE_REPLAY)
    )
    async with engine.begin() as conn:
        claimed = await conn.execute(
            dead_letter.update()
            .where((dead_letter.c.id == dead_letter_id) & claimable)
            .values(status=Status.REPLAYING, updated_at=now)
        )
        if claimed.rowcount != 1:
            shown = await show_dead_letter(conn, dead_letter_id)
            status = shown[0].status if shown else "unknown"
            return ReplayOutcome(dead_letter_id, "skipped", f"dead letter is {status}")
        await _audit(conn, dead_letter_id, "replay", actor, None)
        shown = await show_dead_letter(conn, dead_letter_id)
    assert shown is not None
    try:
        await replayer(shown[0])
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        async with engine.begin() as conn:
            await conn.execute(
                dead_letter.update()
                .where(
                    (dead_letter.c.id == dead_letter_id)
                    & (dead_letter.c.status == Status.REPLAYING)
                )
                .values(
                    status=Status.OPEN,
                    replay_count=dead_letter.c.replay_count + 1,
                    updated_at=datetime.now(UTC),
                )
            )
            await _audit(conn, dead_letter_id, "replay_failed", actor, detail)
        return ReplayOutcome(dead_letter_id, "failed", detail)
    done = datetime.now(UTC)
    async with engine.begin() as conn:
        marked = await conn.execute(
            dead_letter.update()
            .where(
                (dead_letter.c.id == dead_letter_id) & (dead_letter.c.status == Status.REPLAYING)
            )
            .values(
                status=Status.REPLAYED,
                replay_count=dead_letter.c.replay_count + 1,
                resolved_at=done,
                resolved_by=actor,
                resolution_note="replayed",
                updated_at=done,
            )
        )
        if marked.rowcount == 1:
            await _audit(conn, dead_letter_id, "replayed", actor, None)
            return ReplayOutcome(dead_letter_id, "replayed")
        # The replayed message failed again before we got here and reopened the row.
        await conn.execute(
            dead_letter.update()
            .where(dead_letter.c.id == dead_letter_id)
            .values(replay_count=dead_letter.c.replay_count + 1)
        )
    return ReplayOutcome(dead_letter_id, "reopened", "the replayed item failed again")


async def _audit(
    conn: AsyncConnection, dead_letter_id: str, action: str, actor: str, note: str | None
) -> None:
    record_dead_letter_action(action)
    await conn.execute(
        dead_letter_action.insert().values(
            dead_letter_id=dead_letter_id,
            action=action,
            actor=actor,
            note=note,
            at=datetime.now(UTC),
        )
    )


_COLUMNS = tuple(c for c in dead_letter.c if c.name not in {"dedup_key", "updated_at"})


def _conditions(where: DeadLetterFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    for name in ("status", "kind", "source", "consumer", "case_id", "correlation_id", "error_type"):
        value = getattr(where, name)
        if value is not None:
            conditions.append(dead_letter.c[name] == value)
    if where.since is not None:
        conditions.append(dead_letter.c.dead_lettered_at >= where.since)
    if where.until is not None:
        conditions.append(dead_letter.c.dead_lettered_at < where.until)
    return conditions


def _dead_letter(row: sa.Row[Any]) -> DeadLetter:
    values = row._asdict()
    return DeadLetter(
        id=values["id"],
        kind=Kind(values["kind"]),
        source=values["source"],
        consumer=values["consumer"],
        message_id=values["message_id"],
        message_type=values["message_type"],
        payload=values["payload"],
        reason=values["reason"],
        error=values["error"],
        error_type=values["error_type"],
        attempts=tuple(_attempt(a) for a in values["attempts"]),
        correlation_id=values["correlation_id"],
        case_id=values["case_id"],
        status=Status(values["status"]),
        replay_count=values["replay_count"],
        created_at=_utc(values["created_at"]),
        dead_lettered_at=_utc(values["dead_lettered_at"]),
        resolved_at=_utc(values["resolved_at"]) if values["resolved_at"] else None,
        resolved_by=values["resolved_by"],
        resolution_note=values["resolution_note"],
    )


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "error": attempt.error,
        "error_type": attempt.error_type,
        "at": attempt.at.isoformat(),
    }


def _attempt(value: dict[str, Any]) -> Attempt:
    return Attempt(
        number=int(value["number"]),
        error=str(value["error"]),
        error_type=str(value["error_type"]),
        at=datetime.fromisoformat(value["at"]),
    )


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
