"""Billing (what each invoice brought to the CRM, and the runs) and cash application
(payments, their allocations to invoices, and the review queue).

Revision ID: 0070
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op

revision = "0070"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_invoice",
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
    op.create_table(
        "billing_run",
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
    op.create_table(
        "cash_payment",
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
    op.create_table(
        "cash_allocation",
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
    op.create_table(
        "cash_review",
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


def downgrade() -> None:
    for table in (
        "cash_review",
        "cash_allocation",
        "cash_payment",
        "billing_run",
        "billing_invoice",
    ):
        op.drop_table(table)
