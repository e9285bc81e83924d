"""The manual-review queue: cases a person must decide on, with the reason and the figures.

An item is resolved once: resolving is a compare-and-set from ``open``, so two reviewers
clicking at once make one decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.order_to_cash.client import ReviewItem
from ledgerbridge.apis.process.order_to_cash.store import cases, utc
from ledgerbridge.runtime.store import metadata


class ReviewKind(StrEnum):
    """Why a case waits for a person."""

    CREDIT = "credit"
    FAILURE = "failure"
    TIMEOUT = "timeout"


class ReviewStatus(StrEnum):
    """Where a review item stands."""

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETRIED = "retried"


ACTIONS: dict[ReviewKind, tuple[str, ...]] = {
    ReviewKind.CREDIT: ("approve", "reject"),
    ReviewKind.FAILURE: ("retry", "reject"),
    # Approving an overdue case lets it wait on; rejecting it cancels the order.
    ReviewKind.TIMEOUT: ("approve", "reject"),
}

reviews = sa.Table(
    "o2c_review",
    metadata,
    sa.Column("review_id", sa.String(36), primary_key=True),
    sa.Column(
        "case_id",
        sa.String(36),
        sa.ForeignKey("o2c_case.case_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("figures", sa.JSON(), nullable=False),
    sa.Column("actions", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_by", sa.String(128)),
    sa.Column("note", sa.Text()),
    sa.Index("ix_o2c_review_status", "status", "created_at"),
)


async def open_review(
    conn: AsyncConnection,
    case_id: str,
    kind: ReviewKind,
    reason: str,
    figures: Mapping[str, str],
) -> str:
    """Queue a case for a person; returns the item's id."""
    review_id = str(uuid.uuid4())
    await conn.execute(
        reviews.insert().values(
            review_id=review_id,
            case_id=case_id,
            kind=kind.value,
            reason=reason,
            figures=dict(figures),
            actions=list(ACTIONS[kind]),
            status=ReviewStatus.OPEN.value,
            created_at=datetime.now(UTC),
        )
    )
    return review_id


def _query() -> sa.Select[tuple[object, ...]]:
    return sa.select(reviews, cases.c.crm_order_id).join(
        cases, cases.c.case_id == reviews.c.case_id
    )


def _item(row: sa.Row[tuple[object, ...]]) -> ReviewItem:
    mapping = row._mapping
    resolved_at = mapping["resolved_at"]
    return ReviewItem(
        review_id=mapping["review_id"],
        case_id=mapping["case_id"],
        crm_order_id=mapping["crm_order_id"],
        kind=mapping["kind"],
        reason=mapping["reason"],
        figures=mapping["figures"],
        actions=mapping["actions"],
        status=mapping["status"],
        created_at=utc(mapping["created_at"]),
        resolved_at=None if resolved_at is None else utc(resolved_at),
        resolved_by=mapping["resolved_by"],
        note=mapping["note"],
    )


async def get_review(conn: AsyncConnection, review_id: str) -> ReviewItem | None:
    """One review item."""
    row = (await conn.execute(_query().where(reviews.c.review_id == review_id))).first()
    return None if row is None else _item(row)


async def list_reviews(
    conn: AsyncConnection, *, status: str | None, offset: int, limit: int
) -> list[ReviewItem]:
    """Review items oldest first, optionally with one status."""
    query = _query().order_by(reviews.c.created_at, reviews.c.review_id)
    if status is not None:
        query = query.where(reviews.c.status == status)
    return [_item(row) for row in await conn.execute(query.offset(offset).limit(limit))]


async def open_reviews_of(conn: AsyncConnection, case_id: str) -> Sequence[ReviewItem]:
    """The open items of one case."""
    query = _query().where(reviews.c.case_id == case_id, reviews.c.status == ReviewStatus.OPEN)
    return [_item(row) for row in await conn.execute(query)]


async def overdue(
    conn: AsyncConnection, state: str, *, entered_before: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """Cases in ``state`` since before ``entered_before`` with no timeout item raised since
    they entered it: (case id, when it entered)."""
    raised = (
        sa.select(reviews.c.review_id)
        .where(
            reviews.c.case_id == cases.c.case_id,
            reviews.c.kind == ReviewKind.TIMEOUT,
            reviews.c.created_at >= cases.c.updated_at,
        )
        .exists()
    )
    rows = await conn.execute(
        sa.select(cases.c.case_id, cases.c.updated_at)
        .where(cases.c.state == state, cases.c.updated_at < entered_before, ~raised)
        .order_by(cases.c.updated_at)
        .limit(limit)
    )
    return [(row.case_id, utc(row.updated_at)) for row in rows]


async def resolve_review(
    conn: AsyncConnection,
    review_id: str,
    status: ReviewStatus,
    *,
    actor: str,
    note: str | None,
) -> bool:
    """Resolve an open item; False when it was resolved already."""
    result = await conn.execute(
        reviews.update()
        .where(reviews.c.review_id == review_id, reviews.c.status == ReviewStatus.OPEN)
        .values(status=status.value, resolved_at=datetime.now(UTC), resolved_by=actor, note=note)
    )
    return result.rowcount == 1
