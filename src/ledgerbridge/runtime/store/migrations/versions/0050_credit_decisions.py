"""Credit verification: every credit decision, recorded for audit.

Revision ID: 0050
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_decision",
        sa.Column("decision_id", sa.String(36), primary_key=True),
        sa.Column("customer_erp_id", sa.String(16), nullable=False),
        sa.Column("order_id", sa.String(64)),
        sa.Column("erp_order_number", sa.String(16)),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Index("ix_credit_decision_customer", "customer_erp_id", "decided_at", "decision_id"),
    )


def downgrade() -> None:
    op.drop_table("credit_decision")
