"""Durable state of billing: what was last brought over per invoice, and the runs.

An invoice's row changes only when what the CRM order should show changed (its fingerprint),
and the ``invoice.billed`` event goes into the outbox in the same transaction, so a repeated
run writes and publishes nothing. Amounts are kept as decimal text, exact on every database.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.billing.client import (
    BillingRun,
    CrmInvoiceStatus,
    InvoiceBilling,
    RunInvoice,
    SyncOutcome,
)
from ledgerbridge.canonical import InvoiceStatus, Money
from ledgerbridge.runtime.messaging import Message, add_to_outbox
from ledgerbridge.runtime.store import metadata

INVOICE_BILLED = "invoice.billed"

invoices = sa.Table(
    "billing_invoice",
    metadata,
    sa.Column("invoice_erp_number", sa.String(32), primary_key=True),
    sa.Column("crm_order_id", sa.String(64)),
    sa.Column("erp_order_number", sa.String(32)),
    sa.Column("customer_erp_id", sa.String(32)),
    sa.Column("erp_status", sa.String(16), nullable=False),
    sa.Column("amount", sa.String(40), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("due_date", sa.Date()),
    sa.Column("crm_invoice_status", sa.String(32), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_billing_invoice_crm_order", "crm_order_id"),
)

runs = sa.Table(
    "billing_run",
    metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("invoice_erp_number", sa.String(32)),
    sa.Column("changed_since", sa.DateTime(timezone=True)),
    sa.Column("checkpointed", sa.Boolean(), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("synced", sa.Integer(), nullable=False),
    sa.Column("unchanged", sa.Integer(), nullable=False),
    sa.Column("no_crm_order", sa.Integer(), nullable=False),
    sa.Column("invoices", sa.JSON(), nullable=False),
    sa.Index("ix_billing_run_started", "started_at"),
)


def fingerprint(billing: InvoiceBilling) -> str:
    """A digest of what the CRM order should show; equal digests mean nothing to write."""
    shown = billing.model_dump(mode="json", exclude={"synced_at", "erp_status"})
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def _billing(row: sa.Row[tuple[object, ...]]) -> InvoiceBilling:
    values = row._mapping
    return InvoiceBilling(
        invoice_erp_number=values["invoice_erp_number"],
        crm_order_id=values["crm_order_id"],
        erp_order_number=values["erp_order_number"],
        customer_erp_id=values["customer_erp_id"],
        erp_status=InvoiceStatus(values["erp_status"]),
        amount=Money(amount=Decimal(values["amount"]), currency=values["currency"]),
        due_date=values["due_date"],
        crm_invoice_status=CrmInvoiceStatus(values["crm_invoice_status"]),
        synced_at=values["synced_at"],
    )


async def load_invoice(conn: AsyncConnection, invoice_erp_number: str) -> InvoiceBilling | None:
    """What billing last brought over for an invoice, if anything."""
    query = sa.select(invoices).where(invoices.c.invoice_erp_number == invoice_erp_number)
    row = (await conn.execute(query)).first()
    return None if row is None else _billing(row)


async def save_invoice(conn: AsyncConnection, billing: InvoiceBilling) -> bool:
    """Record ``billing`` and publish it, unless it shows what was last recorded; returns
    whether it changed anything."""
    digest = fingerprint(billing)
    key = invoices.c.invoice_erp_number == billing.invoice_erp_number
    # Lock the row (PostgreSQL) so two runs cannot both see it stale and both publish.
    known = (
        await conn.execute(sa.select(invoices.c.fingerprint).where(key).with_for_update())
    ).scalar_one_or_none()
    if known == digest:
        return False
    values = {
        "crm_order_id": billing.crm_order_id,
        "erp_order_number": billing.erp_order_number,
        "customer_erp_id": billing.customer_erp_id,
        "erp_status": billing.erp_status.value,
        "amount": str(billing.amount.amount),
        "currency": billing.amount.currency,
        "due_date": billing.due_date,
        "crm_invoice_status": billing.crm_invoice_status.value,
        "fingerprint": digest,
        "synced_at": billing.synced_at,
    }
    if known is None:
        await conn.execute(
            invoices.insert().values(invoice_erp_number=billing.invoice_erp_number, **values)
        )
    else:
        await conn.execute(invoices.update().where(key).values(**values))
    message = Message.create(
        type=INVOICE_BILLED,
        source="/process/billing",
        subject=billing.invoice_erp_number,
        data=billing.model_dump(mode="json"),
    )
    await add_to_outbox(conn, INVOICE_BILLED, message, key=billing.crm_order_id)
    return True


async def record_run(
    conn: AsyncConnection,
    *,
    invoice_erp_number: str | None,
    changed_since: datetime | None,
    checkpointed: bool,
    started_at: datetime,
    results: list[RunInvoice],
) -> BillingRun:
    """Record a finished run and return it."""

    def count(outcome: SyncOutcome) -> int:
        return sum(1 for result in results if result.outcome is outcome)

    run = BillingRun(
        run_id=str(uuid.uuid4()),
        invoice_erp_number=invoice_erp_number,
        changed_since=changed_since,
        checkpointed=checkpointed,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        synced=count(SyncOutcome.SYNCED),
        unchanged=count(SyncOutcome.UNCHANGED),
        no_crm_order=count(SyncOutcome.NO_CRM_ORDER),
        invoices=results,
    )
    values = run.model_dump(mode="python", exclude={"invoices"})
    values["invoices"] = [result.model_dump(mode="json") for result in results]
    await conn.execute(runs.insert().values(**values))
    return run


def _run(row: sa.Row[tuple[object, ...]]) -> BillingRun:
    return BillingRun.model_validate(dict(row._mapping))


async def get_run(conn: AsyncConnection, run_id: str) -> BillingRun | None:
    """One run, if it exists."""
    row = (await conn.execute(sa.select(runs).where(runs.c.run_id == run_id))).first()
    return None if row is None else _run(row)


async def list_runs(conn: AsyncConnection, *, offset: int, limit: int) -> list[BillingRun]:
    """Runs newest first."""
    query = (
        sa.select(runs)
        .order_by(runs.c.started_at.desc(), runs.c.run_id)
        .offset(offset)
        .limit(limit)
    )
    return [_run(row) for row in await conn.execute(query)]
