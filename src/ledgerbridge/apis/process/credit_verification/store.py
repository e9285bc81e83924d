"""The audit record of credit decisions: one row per decision, never changed once written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.credit_verification.client import CreditDecision
from ledgerbridge.runtime.store import metadata

decisions = sa.Table(
    "credit_decision",
    metadata,
    sa.Column("decision_id", sa.String(36), primary_key=True),
    sa.Column("customer_erp_id", sa.String(16), nullable=False),
    sa.Column("order_id", sa.String(64)),
    sa.Column("erp_order_number", sa.String(16)),
    sa.Column("verdict", sa.String(8), nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    # The whole decision as answered, reasons and figures included.
    sa.Column("record", sa.JSON(), nullable=False),
    sa.Index("ix_credit_decision_customer", "customer_erp_id", "decided_at", "decision_id"),
)


async def record(conn: AsyncConnection, decision: CreditDecision) -> None:
    """Keep a decision for audit."""
    await conn.execute(
        decisions.insert().values(
            decision_id=decision.decision_id,
            customer_erp_id=decision.customer_erp_id,
            order_id=decision.order_id,
            erp_order_number=decision.erp_order_number,
            verdict=decision.verdict.value,
            amount=decision.figures.order_amount.amount,
            currency=decision.figures.order_amount.currency,
            decided_at=decision.decided_at,
            record=decision.model_dump(mode="json"),
        )
    )


async def get(conn: AsyncConnection, decision_id: str) -> CreditDecision | None:
    """One decision, if it was recorded."""
    query = sa.select(decisions.c.record).where(decisions.c.decision_id == decision_id)
    found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else CreditDecision.model_validate(found)


async def of_customer(
    conn: AsyncConnection,
    customer_erp_id: str,
    *,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[CreditDecision]:
    """A customer's decisions newest first, from just before ``before`` (decided_at, id)."""
    query = sa.select(decisions.c.record).where(decisions.c.customer_erp_id == customer_erp_id)
    if before is not None:
        at, decision_id = before
        query = query.where(
            sa.or_(
                decisions.c.decided_at < at,
                sa.and_(decisions.c.decided_at == at, decisions.c.decision_id < decision_id),
            )
        )
    query = query.order_by(decisions.c.decided_at.desc(), decisions.c.decision_id.desc())
    rows: list[Any] = list((await conn.execute(query.limit(limit))).scalars())
    return [CreditDecision.model_validate(row) for row in rows]
