"""Durable state of cash application: each payment, its allocations to invoices, and the
review queue.

A payment is recorded with every allocation it will make before anything is posted in the
ERP; each allocation carries the ERP payment reference it posts under (the payment's own
reference and its allocation number), which the ERP keys payments on, so posting it again
after a crash finds the first posting. An allocation is marked posted by compare-and-set,
with its ``payment.applied`` event in the same transaction: one event per allocation.
Amounts are kept as decimal text, exact on every database.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.cash_application.client import (
    Allocation,
    Candidate,
    CrmPaymentStatus,
    IncomingPayment,
    MatchedBy,
    PaymentApplication,
    PaymentStatus,
    ReviewItem,
    ReviewReason,
)
from ledgerbridge.apis.process.cash_application.matching import OpenInvoice
from ledgerbridge.canonical import Money
from ledgerbridge.runtime.messaging import Message, add_to_outbox
from ledgerbridge.runtime.store import metadata

PAYMENT_APPLIED = "payment.applied"
OPEN = "open"
RESOLVED = "resolved"

payments = sa.Table(
    "cash_payment",
    metadata,
    sa.Column("payment_reference", sa.String(24), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("customer_erp_id", sa.String(32)),
    sa.Column("amount", sa.String(40), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("payment_date", sa.Date(), nullable=False),
    sa.Column("references", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("matched_by", sa.String(16)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_cash_payment_status", "status", "created_at"),
)

allocations = sa.Table(
    "cash_allocation",
    metadata,
    sa.Column(
        "payment_reference",
        sa.String(24),
        sa.ForeignKey("cash_payment.payment_reference", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("invoice_erp_number", sa.String(32), nullable=False),
    sa.Column("crm_order_id", sa.String(64)),
    sa.Column("open_before", sa.String(40), nullable=False),
    sa.Column("applied", sa.String(40), nullable=False),
    sa.Column("erp_reference", sa.String(30), nullable=False),
    sa.Column("erp_document", sa.String(32)),
    sa.Column("posted_at", sa.DateTime(timezone=True)),
)

reviews = sa.Table(
    "cash_review",
    metadata,
    sa.Column("review_id", sa.String(36), primary_key=True),
    sa.Column(
        "payment_reference",
        sa.String(24),
        sa.ForeignKey("cash_payment.payment_reference", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("amount", sa.String(40), nullable=False),
    sa.Column("candidates", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_by", sa.String(128)),
    sa.Column("note", sa.Text()),
    sa.Index("ix_cash_review_status", "status", "created_at"),
    sa.Index("ix_cash_review_payment", "payment_reference"),
)


@dataclass(frozen=True, slots=True)
class Part:
    """An allocation to make: this much of the payment to this invoice."""

    invoice: OpenInvoice
    applied: Decimal
    crm_order_id: str | None


@dataclass(frozen=True, slots=True)
class Review:
    """A review item to open: why, for how much, and the invoices to choose from."""

    reason: ReviewReason
    detail: str
    amount: Decimal
    candidates: list[OpenInvoice]


@dataclass(frozen=True, slots=True)
class Pending:
    """An allocation not yet posted in the ERP, with what posting it needs."""

    seq: int
    invoice_erp_number: str
    crm_order_id: str | None
    open_before: Decimal
    applied: Decimal
    erp_reference: str
    customer_erp_id: str
    payment_date: date
    currency: str


def fingerprint(payment: IncomingPayment) -> str:
    """A digest of the payment's details, to tell a repeat from a clash of references."""
    return hashlib.sha256(payment.model_dump_json().encode()).hexdigest()


async def load_fingerprint(conn: AsyncConnection, payment_reference: str) -> str | None:
    """The digest of the payment recorded under ``payment_reference``, if any."""
    query = sa.select(payments.c.fingerprint).where(
        payments.c.payment_reference == payment_reference
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def record_payment(
    conn: AsyncConnection,
    payment: IncomingPayment,
    *,
    customer_erp_id: str | None,
    matched_by: MatchedBy | None,
    parts: list[Part],
    review: Review | None,
) -> None:
    """Record a new payment with its allocations and its review item, if any."""
    now = datetime.now(UTC)
    await conn.execute(
        payments.insert().values(
            payment_reference=payment.payment_reference,
            fingerprint=fingerprint(payment),
            customer_erp_id=customer_erp_id,
            amount=str(payment.amount.amount),
            currency=payment.amount.currency,
            payment_date=payment.payment_date,
            references=payment.references,
            status=PaymentStatus.APPLIED if review is None else PaymentStatus.IN_REVIEW,
            matched_by=matched_by,
            created_at=now,
            updated_at=now,
        )
    )
    await add_parts(conn, payment.payment_reference, parts)
    if review is not None:
        await _open_review(conn, payment.payment_reference, review, now)


async def add_parts(conn: AsyncConnection, payment_reference: str, parts: list[Part]) -> None:
    """Add allocations to a payment, numbered after those it has."""
    query = sa.select(sa.func.count()).where(allocations.c.payment_reference == payment_reference)
    start = (await conn.execute(query)).scalar_one() + 1
    for seq, part in enumerate(parts, start=start):
        await conn.execute(
            allocations.insert().values(
                payment_reference=payment_reference,
                seq=seq,
                invoice_erp_number=part.invoice.number,
                crm_order_id=part.crm_order_id,
                open_before=str(part.invoice.balance),
                applied=str(part.applied),
                erp_reference=f"{payment_reference}/{seq}",
            )
        )


async def _open_review(
    conn: AsyncConnection, payment_reference: str, review: Review, now: datetime
) -> None:
    candidates = [
        Candidate(
            invoice_erp_number=invoice.number,
            open_amount=invoice.balance,
            due_date=invoice.due_date,
            reference=invoice.reference,
        ).model_dump(mode="json")
        for invoice in review.candidates
    ]
    await conn.execute(
        reviews.insert().values(
            review_id=str(uuid.uuid4()),
            payment_reference=payment_reference,
            reason=review.reason,
            detail=review.detail,
            amount=str(review.amount),
            candidates=candidates,
            status=OPEN,
            created_at=now,
        )
    )


async def pending(conn: AsyncConnection, payment_reference: str) -> list[Pending]:
    """The payment's allocations not yet posted in the ERP, in order."""
    query = (
        sa.select(
            allocations.c.seq,
            allocations.c.invoice_erp_number,
            allocations.c.crm_order_id,
            allocations.c.open_before,
            allocations.c.applied,
            allocations.c.erp_reference,
            payments.c.customer_erp_id,
            payments.c.payment_date,
            payments.c.currency,
        )
        .join(payments, payments.c.payment_reference == allocations.c.payment_reference)
        .where(
            allocations.c.payment_reference == payment_reference,
            allocations.c.erp_document.is_(None),
        )
        .order_by(allocations.c.seq)
    )
    return [
        Pending(
            seq=row.seq,
            invoice_erp_number=row.invoice_erp_number,
            crm_order_id=row.crm_order_id,
            open_before=Decimal(row.open_before),
            applied=Decimal(row.applied),
            erp_reference=row.erp_reference,
            customer_erp_id=row.customer_erp_id,
            payment_date=row.payment_date,
            currency=row.currency,
        )
        for row in await conn.execute(query)
    ]


async def mark_posted(
    conn: AsyncConnection, payment_reference: str, seq: int, erp_document: str
) -> bool:
    """Mark an allocation posted under ``erp_document`` and publish it, once."""
    key = sa.and_(allocations.c.payment_reference == payment_reference, allocations.c.seq == seq)
    moved = await conn.execute(
        allocations.update()
        .where(key, allocations.c.erp_document.is_(None))
        .values(erp_document=erp_document, posted_at=datetime.now(UTC))
    )
    if moved.rowcount != 1:
        return False
    row = (await conn.execute(sa.select(allocations).where(key))).one()
    data = _allocation(row).model_dump(mode="json") | {"payment_reference": payment_reference}
    message = Message.create(
        type=PAYMENT_APPLIED,
        source="/process/cash-application",
        subject=payment_reference,
        data=data,
    )
    await add_to_outbox(conn, PAYMENT_APPLIED, message, key=row.crm_order_id)
    return True


async def withdraw(
    conn: AsyncConnection, payment_reference: str, *, from_seq: int, detail: str
) -> None:
    """Take back the unposted allocations from ``from_seq`` on (the ERP refused to post
    them; nothing is posted under their references) and queue their amount for review."""
    unposted = sa.and_(
        allocations.c.payment_reference == payment_reference,
        allocations.c.seq >= from_seq,
        allocations.c.erp_document.is_(None),
    )
    taken = (await conn.execute(sa.select(allocations.c.applied).where(unposted))).scalars()
    amount = sum((Decimal(applied) for applied in taken), Decimal(0))
    await conn.execute(allocations.delete().where(unposted))
    now = datetime.now(UTC)
    await _open_review(
        conn, payment_reference, Review(ReviewReason.ERP_REJECTED, detail, amount, []), now
    )
    await conn.execute(
        payments.update()
        .where(payments.c.payment_reference == payment_reference)
        .values(status=PaymentStatus.IN_REVIEW, updated_at=now)
    )


async def resolve_review(
    conn: AsyncConnection,
    review_id: str,
    *,
    actor: str,
    note: str | None,
    customer_erp_id: str,
    parts: list[Part],
) -> bool:
    """Close an open review item with the allocations a person chose; False when it was
    no longer open."""
    now = datetime.now(UTC)
    review = (
        await conn.execute(
            sa.select(reviews.c.payment_reference).where(reviews.c.review_id == review_id)
        )
    ).scalar_one()
    closed = await conn.execute(
        reviews.update()
        .where(reviews.c.review_id == review_id, reviews.c.status == OPEN)
        .values(status=RESOLVED, resolved_at=now, resolved_by=actor, note=note)
    )
    if closed.rowcount != 1:
        return False
    await add_parts(conn, review, parts)
    await conn.execute(
        payments.update()
        .where(payments.c.payment_reference == review)
        .values(
            status=PaymentStatus.APPLIED,
            customer_erp_id=customer_erp_id,
            matched_by=sa.func.coalesce(payments.c.matched_by, MatchedBy.REVIEW.value),
            updated_at=now,
        )
    )
    return True


def _allocation(row: sa.Row[Any]) -> Allocation:
    open_before, applied = Decimal(row.open_before), Decimal(row.applied)
    settled = applied == open_before
    return Allocation(
        invoice_erp_number=row.invoice_erp_number,
        crm_order_id=row.crm_order_id,
        open_before=open_before,
        applied=applied,
        settled=settled,
        crm_payment_status=CrmPaymentStatus.PAID if settled else CrmPaymentStatus.PARTIALLY_PAID,
        erp_reference=row.erp_reference,
        erp_document=row.erp_document,
    )


def _review_query() -> sa.Select[Any]:
    return sa.select(reviews, payments.c.currency, payments.c.customer_erp_id).join(
        payments, payments.c.payment_reference == reviews.c.payment_reference
    )


def _review(row: sa.Row[Any]) -> ReviewItem:
    return ReviewItem(
        review_id=row.review_id,
        payment_reference=row.payment_reference,
        reason=ReviewReason(row.reason),
        detail=row.detail,
        amount=Money(amount=Decimal(row.amount), currency=row.currency),
        customer_erp_id=row.customer_erp_id,
        candidates=[Candidate.model_validate(candidate) for candidate in row.candidates],
        status=row.status,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        note=row.note,
    )


async def get_review(conn: AsyncConnection, review_id: str) -> ReviewItem | None:
    """One review item, if it exists."""
    row = (await conn.execute(_review_query().where(reviews.c.review_id == review_id))).first()
    return None if row is None else _review(row)


async def list_reviews(
    conn: AsyncConnection, *, status: str | None, offset: int, limit: int
) -> list[ReviewItem]:
    """Review items oldest first, optionally in one status."""
    query = _review_query()
    if status is not None:
        query = query.where(reviews.c.status == status)
    query = query.order_by(reviews.c.created_at, reviews.c.review_id).offset(offset).limit(limit)
    return [_review(row) for row in await conn.execute(query)]


async def _application(conn: AsyncConnection, row: sa.Row[Any]) -> PaymentApplication:
    reference = row.payment_reference
    parts = [
        _allocation(part)
        for part in await conn.execute(
            sa.select(allocations)
            .where(allocations.c.payment_reference == reference)
            .order_by(allocations.c.seq)
        )
    ]
    review = (
        await conn.execute(
            _review_query().where(
                reviews.c.payment_reference == reference, reviews.c.status == OPEN
            )
        )
    ).first()
    amount = Decimal(row.amount)
    applied = sum((part.applied for part in parts), Decimal(0))
    return PaymentApplication(
        payment_reference=reference,
        customer_erp_id=row.customer_erp_id,
        amount=Money(amount=amount, currency=row.currency),
        payment_date=row.payment_date,
        references=row.references,
        status=PaymentStatus(row.status),
        matched_by=None if row.matched_by is None else MatchedBy(row.matched_by),
        applied=applied,
        unapplied=amount - applied,
        allocations=parts,
        review=None if review is None else _review(review),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def load_payment(conn: AsyncConnection, payment_reference: str) -> PaymentApplication | None:
    """A payment and how it was applied, if it is known."""
    query = sa.select(payments).where(payments.c.payment_reference == payment_reference)
    row = (await conn.execute(query)).first()
    return None if row is None else await _application(conn, row)


async def list_payments(
    conn: AsyncConnection, *, status: str | None, offset: int, limit: int
) -> list[PaymentApplication]:
    """Payments newest first, optionally in one status."""
    query = sa.select(payments)
    if status is not None:
        query = query.where(payments.c.status == status)
    query = query.order_by(payments.c.created_at.desc(), payments.c.payment_reference)
    rows = (await conn.execute(query.offset(offset).limit(limit))).all()
    return [await _application(conn, row) for row in rows]
