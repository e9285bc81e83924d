"""Order-to-cash as a durable saga: the case's state, its timeline and the review queue.

Revision ID: 0030
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("o2c_case") as batch:
        batch.add_column(
            sa.Column("state", sa.String(32), nullable=False, server_default="captured")
        )
        batch.add_column(sa.Column("order_total", sa.Numeric(18, 2)))
        batch.add_column(sa.Column("currency", sa.String(3)))
        batch.add_column(sa.Column("invoice_erp_number", sa.String(32)))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True)))
        batch.create_index("ix_o2c_case_state", ["state"])
    # Cases of the first cut stopped once their ERP order existed.
    op.execute("UPDATE o2c_case SET state = 'erp_order_created' WHERE status = 'in_erp'")
    op.execute("UPDATE o2c_case SET state = 'referred' WHERE status = 'credit_hold'")
    op.create_table(
        "o2c_transition",
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
    op.create_table(
        "o2c_review",
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


def downgrade() -> None:
    op.drop_table("o2c_review")
    op.drop_table("o2c_transition")
    with op.batch_alter_table("o2c_case") as batch:
        batch.drop_index("ix_o2c_case_state")
        for column in ("closed_at", "invoice_erp_number", "currency", "order_total", "state"):
            batch.drop_column(column)
