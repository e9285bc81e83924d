"""Durable state of order-to-cash: one case per CRM order, its timeline and its steps.

A case moves only by compare-and-set on its state (`move`): the row changes only when it is
still in a state the move starts from, and the timeline entry and the domain event it causes
are written in the same transaction. Two workers observing the same ERP change, or one
observing it twice, therefore make one move.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.order_to_cash.client import CaseStep, CaseTransition, OrderCase
from ledgerbridge.apis.process.order_to_cash.states import STATUS_OF, CaseState
from ledgerbridge.runtime.messaging import Message, add_to_outbox
from ledgerbridge.runtime.store import metadata

RUNNING = "running"
FAILED = "failed"
# A case left "running" longer than this by a crashed worker may be taken over.
STALE_CLAIM = timedelta(minutes=2)

cases = sa.Table(
    "o2c_case",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("crm_order_id", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("customer_crm_id", sa.String(64), nullable=False),
    sa.Column("customer_erp_id", sa.String(64)),
    sa.Column("erp_order_number", sa.String(32)),
    sa.Column("last_error", sa.Text()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.String(32), nullable=False, server_default="captured"),
    sa.Column("order_total", sa.Numeric(18, 2)),
    sa.Column("currency", sa.String(3)),
    sa.Column("invoice_erp_number", sa.String(32)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Index("ix_o2c_case_state", "state"),
)

steps = sa.Table(
    "o2c_step",
    metadata,
    sa.Column("step_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.ForeignKey("o2c_case.case_id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text()),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

transitions = sa.Table(
    "o2c_transition",
    metadata,
    sa.Column("transition_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "case_id",
        sa.String(36),
        sa.ForeignKey("o2c_case.case_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text()),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_o2c_transition_case", "case_id", "transition_id"),
)


# States before the ERP order exists: the part of the saga run by the start request.
_EARLY = frozenset(
    {
        CaseState.CAPTURED.value,
        CaseState.VALIDATED.value,
        CaseState.CUSTOMER_SYNCED.value,
        CaseState.CREDIT_CHECKED.value,
    }
)


@dataclass(frozen=True, slots=True)
class Event:
    """A domain event a move publishes through the outbox."""

    type: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CaseRef:
    """What a worker needs to know of a case to move it on."""

    case_id: str
    crm_order_id: str
    state: CaseState
    customer_crm_id: str
    customer_erp_id: str | None
    erp_order_number: str | None
    invoice_erp_number: str | None


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (SQLite hands back naive ones)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ref(row: sa.Row[Any]) -> CaseRef:
    return CaseRef(
        case_id=row.case_id,
        crm_order_id=row.crm_order_id,
        state=CaseState(row.state),
        customer_crm_id=row.customer_crm_id,
        customer_erp_id=row.customer_erp_id,
        erp_order_number=row.erp_order_number,
        invoice_erp_number=row.invoice_erp_number,
    )


async def load_case(conn: AsyncConnection, crm_order_id: str) -> OrderCase | None:
    """The case of a CRM order with its timeline and steps, if there is one."""
    row = (await conn.execute(sa.select(cases).where(cases.c.crm_order_id == crm_order_id))).first()
    return None if row is None else (await _cases_of(conn, [row]))[0]


async def load_case_by_id(conn: AsyncConnection, case_id: str) -> OrderCase | None:
    """A case with its timeline and steps, by its id."""
    row = (await conn.execute(sa.select(cases).where(cases.c.case_id == case_id))).first()
    return None if row is None else (await _cases_of(conn, [row]))[0]


async def load_ref(conn: AsyncConnection, case_id: str) -> CaseRef | None:
    """The working view of a case, by its id."""
    row = (await conn.execute(sa.select(cases).where(cases.c.case_id == case_id))).first()
    return None if row is None else _ref(row)


async def list_cases(
    conn: AsyncConnection, *, state: str | None, offset: int, limit: int
) -> list[OrderCase]:
    """Cases newest first, optionally in one state."""
    query = sa.select(cases).order_by(cases.c.created_at.desc(), cases.c.case_id)
    if state is not None:
        query = query.where(cases.c.state == state)
    rows = (await conn.execute(query.offset(offset).limit(limit))).all()
    return await _cases_of(conn, rows)


async def _cases_of(conn: AsyncConnection, rows: Collection[sa.Row[Any]]) -> list[OrderCase]:
    ids = [row.case_id for row in rows]
    step_rows = await conn.execute(
        sa.select(steps).where(steps.c.case_id.in_(ids)).order_by(steps.c.step_id)
    )
    move_rows = await conn.execute(
        sa.select(transitions)
        .where(transitions.c.case_id.in_(ids))
        .order_by(transitions.c.transition_id)
    )
    steps_of: dict[str, list[CaseStep]] = {case_id: [] for case_id in ids}
    for s in step_rows:
        steps_of[s.case_id].append(
            CaseStep(name=s.name, outcome=s.outcome, detail=s.detail, at=utc(s.at))
        )
    timeline_of: dict[str, list[CaseTransition]] = {case_id: [] for case_id in ids}
    for t in move_rows:
        timeline_of[t.case_id].append(CaseTransition(state=t.state, detail=t.detail, at=utc(t.at)))
    return [
        OrderCase(
            case_id=row.case_id,
            crm_order_id=row.crm_order_id,
            state=row.state,
            status=row.status,
            customer_crm_id=row.customer_crm_id,
            customer_erp_id=row.customer_erp_id,
            erp_order_number=row.erp_order_number,
            invoice_erp_number=row.invoice_erp_number,
            order_total=row.order_total,
            currency=row.currency,
            last_error=row.last_error,
            created_at=utc(row.created_at),
            updated_at=utc(row.updated_at),
            closed_at=None if row.closed_at is None else utc(row.closed_at),
            steps=steps_of[row.case_id],
            timeline=timeline_of[row.case_id],
        )
        for row in rows
    ]


async def open_case(
    conn: AsyncConnection,
    crm_order_id: str,
    customer_crm_id: str,
    *,
    total: Decimal,
    currency: str,
) -> str:
    """Create the running case of a CRM order, captured; returns its id."""
    now = datetime.now(UTC)
    case_id = str(uuid.uuid4())
    await conn.execute(
        cases.insert().values(
            case_id=case_id,
            crm_order_id=crm_order_id,
            status=RUNNING,
            state=CaseState.CAPTURED.value,
            customer_crm_id=customer_crm_id,
            order_total=total,
            currency=currency,
            created_at=now,
            updated_at=now,
        )
    )
    await conn.execute(
        transitions.insert().values(
            case_id=case_id, state=CaseState.CAPTURED.value, detail=None, at=now
        )
    )
    return case_id


async def claim_case(conn: AsyncConnection, case_id: str) -> bool:
    """Mark an existing case running; False when another worker holds it right now.

    The claim is a lease: "running" with an ``updated_at`` younger than `STALE_CLAIM`. It is
    taken by one conditional UPDATE, so of two workers claiming at once one wins (PostgreSQL
    re-checks the condition on the row the other committed; SQLite has one writer).
    """
    now = datetime.now(UTC)
    result = await conn.execute(
        cases.update()
        .where(cases.c.case_id == case_id)
        .where(sa.or_(cases.c.status != RUNNING, cases.c.updated_at < now - STALE_CLAIM))
        .values(status=RUNNING, updated_at=now)
    )
    return result.rowcount == 1


async def renew_claim(conn: AsyncConnection, case_id: str) -> None:
    """Keep the lease of a case this worker is running (a heartbeat)."""
    await conn.execute(
        cases.update()
        .where(cases.c.case_id == case_id)
        .where(cases.c.status == RUNNING)
        .values(updated_at=datetime.now(UTC))
    )


async def release_claim(conn: AsyncConnection, case_id: str, *, idle_for: timedelta) -> bool:
    """End the lease of a running case not renewed for ``idle_for``; True if it ended.

    Workers renew their claims by heartbeat, so one idle for their lease was abandoned by
    a worker that died. The case is then "failed" (passing), so the next claim takes it.
    """
    now = datetime.now(UTC)
    result = await conn.execute(
        cases.update()
        .where(cases.c.case_id == case_id)
        .where(cases.c.status == RUNNING)
        .where(cases.c.updated_at <= now - idle_for)
        .values(status=FAILED)
    )
    return result.rowcount == 1


async def record_step(
    conn: AsyncConnection,
    case_id: str,
    name: str,
    outcome: str,
    detail: str | None = None,
    **case_values: Any,
) -> None:
    """Append a step to a case and update the case's own columns in the same transaction."""
    now = datetime.now(UTC)
    await conn.execute(
        steps.insert().values(case_id=case_id, name=name, outcome=outcome, detail=detail, at=now)
    )
    await conn.execute(
        cases.update().where(cases.c.case_id == case_id).values(updated_at=now, **case_values)
    )


async def move(
    conn: AsyncConnection,
    case_id: str,
    *,
    expected: Collection[CaseState],
    to: CaseState,
    detail: str | None = None,
    event: Event | None = None,
    status: str | None = None,
    **case_values: Any,
) -> bool:
    """Move a case to ``to`` if it is in one of ``expected``; False (nothing written) if not.

    The timeline entry, the case's columns and ``event`` (into the outbox) commit together.
    ``status`` overrides the status the state shows (say "running" while the saga holds it).
    """
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "state": to.value,
        "status": status or STATUS_OF[to],
        "updated_at": now,
        **case_values,
    }
    if to is CaseState.CLOSED:
        values["closed_at"] = now
    result = await conn.execute(
        cases.update()
        .where(cases.c.case_id == case_id)
        .where(cases.c.state.in_([state.value for state in expected]))
        .values(**values)
    )
    if result.rowcount != 1:
        return False
    await conn.execute(
        transitions.insert().values(case_id=case_id, state=to.value, detail=detail, at=now)
    )
    if event is not None:
        message = Message.create(
            type=event.type,
            source="/process/order-to-cash",
            subject=case_id,
            data=event.data,
        )
        await add_to_outbox(conn, event.type, message, key=case_id)
    return True


async def watched_cases(
    conn: AsyncConnection, states: Collection[CaseState], *, after: str | None, limit: int
) -> list[CaseRef]:
    """Cases in ``states`` by case id, from the one after ``after`` (keyset paging)."""
    query = sa.select(cases).where(cases.c.state.in_([state.value for state in states]))
    if after is not None:
        query = query.where(cases.c.case_id > after)
    rows = await conn.execute(query.order_by(cases.c.case_id).limit(limit))
    return [_ref(row) for row in rows]


async def count_in(conn: AsyncConnection, states: Collection[CaseState]) -> int:
    """How many cases are in ``states``."""
    query = sa.select(sa.func.count()).where(cases.c.state.in_([state.value for state in states]))
    return int((await conn.execute(query)).scalar_one())


async def cases_of_erp_orders(conn: AsyncConnection, numbers: Collection[str]) -> list[CaseRef]:
    """The cases whose ERP sales order is one of ``numbers``."""
    rows = await conn.execute(sa.select(cases).where(cases.c.erp_order_number.in_(list(numbers))))
    return [_ref(row) for row in rows]


async def stalled_cases(
    conn: AsyncConnection, *, older_than: datetime, limit: int
) -> list[CaseRef]:
    """Cases whose start failed for a passing reason (or whose worker died), to run again."""
    rows = await conn.execute(
        sa.select(cases)
        .where(cases.c.state.in_(sorted(_EARLY)))
        .where(cases.c.status.in_([FAILED, RUNNING]))
        .where(cases.c.updated_at < older_than)
        .order_by(cases.c.updated_at)
        .limit(limit)
    )
    return [_ref(row) for row in rows]
