"""Key figures of order-to-cash, computed from the case timelines and the review queue."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.order_to_cash.client import DurationStats, OrderToCashKpis
from ledgerbridge.apis.process.order_to_cash.reviews import reviews
from ledgerbridge.apis.process.order_to_cash.states import TERMINAL, CaseState
from ledgerbridge.apis.process.order_to_cash.store import cases, transitions, utc

_CREDIT_DECIDED = (CaseState.CREDIT_CHECKED.value, CaseState.REFERRED.value)


def durations(seconds: Sequence[float]) -> DurationStats:
    """Count, mean, median and 95th percentile (nearest rank) of ``seconds``."""
    if not seconds:
        return DurationStats(count=0, mean=None, median=None, p95=None)
    ordered = sorted(seconds)
    rank = max(0, -(-95 * len(ordered) // 100) - 1)
    return DurationStats(
        count=len(ordered),
        mean=round(statistics.fmean(ordered), 3),
        median=round(statistics.median(ordered), 3),
        p95=round(ordered[rank], 3),
    )


def _seconds(start: datetime, end: datetime) -> float:
    return (utc(end) - utc(start)).total_seconds()


async def compute(conn: AsyncConnection) -> OrderToCashKpis:
    """The KPIs over every case in the store."""
    case_rows = (
        await conn.execute(
            sa.select(cases.c.case_id, cases.c.state, cases.c.created_at, cases.c.closed_at)
        )
    ).all()
    review_rows = (
        await conn.execute(
            sa.select(reviews.c.case_id, reviews.c.created_at, reviews.c.resolved_at)
        )
    ).all()
    decided = dict(
        (
            await conn.execute(
                sa.select(transitions.c.case_id, sa.func.min(transitions.c.at))
                .where(transitions.c.state.in_(_CREDIT_DECIDED))
                .group_by(transitions.c.case_id)
            )
        ).all()
    )
    reviewed = {row.case_id for row in review_rows}
    by_state = Counter(row.state for row in case_rows)
    closed = [row for row in case_rows if row.state == CaseState.CLOSED]
    terminal = {state.value for state in TERMINAL}
    return OrderToCashKpis(
        cases=len(case_rows),
        open_cases=sum(count for state, count in by_state.items() if state not in terminal),
        closed_cases=len(closed),
        straight_through_rate=(
            round(sum(row.case_id not in reviewed for row in closed) / len(closed), 4)
            if closed
            else None
        ),
        manual_intervention_rate=(round(len(reviewed) / len(case_rows), 4) if case_rows else None),
        cycle_time=durations(
            [_seconds(row.created_at, row.closed_at) for row in closed if row.closed_at]
        ),
        credit_decision_time=durations(
            [
                _seconds(row.created_at, decided[row.case_id])
                for row in case_rows
                if row.case_id in decided
            ]
        ),
        exception_resolution_time=durations(
            [_seconds(row.created_at, row.resolved_at) for row in review_rows if row.resolved_at]
        ),
        by_state=dict(sorted(by_state.items())),
    )
