"""ERP cut-overs (which ERP serves) and their renumbering (old ERP id -> new, until rewritten).

Revision ID: 0090
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op

revision = "0090"
down_revision = "0040"
branch_labels = ("erp_renumbering",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erp_cutover",
        sa.Column("cutover_id", sa.String(36), primary_key=True),
        sa.Column("erp", sa.String(32), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.Index("ix_erp_cutover_switched", "switched_at"),
    )
    op.create_table(
        "erp_renumbering",
        sa.Column(
            "cutover_id",
            sa.String(36),
            sa.ForeignKey("erp_cutover.cutover_id"),
            primary_key=True,
        ),
        sa.Column("entity", sa.String(16), primary_key=True),
        sa.Column("old_id", sa.String(64), primary_key=True),
        sa.Column("new_id", sa.String(64), nullable=False),
        sa.Column("crm_id", sa.String(64), nullable=False),
        sa.Column("customer_old_id", sa.String(64)),
        sa.Column("customer_new_id", sa.String(64)),
        sa.Column("translate", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("rewritten_at", sa.DateTime(timezone=True)),
        sa.Index("ix_erp_renumbering_batch", "cutover_id", "batch"),
    )


def downgrade() -> None:
    op.drop_table("erp_renumbering")
    op.drop_table("erp_cutover")
