"""Customer onboarding (sync baselines, conflict queue) and product and pricing sync runs.

Revision ID: 0060
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op

revision = "0060"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "co_customer",
        sa.Column("crm_id", sa.String(64), primary_key=True),
        sa.Column("erp_id", sa.String(64), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "co_conflict",
        sa.Column("conflict_id", sa.String(36), primary_key=True),
        sa.Column(
            "crm_id",
            sa.String(64),
            sa.ForeignKey("co_customer.crm_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("erp_id", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("master", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("base_value", sa.JSON()),
        sa.Column("crm_value", sa.JSON()),
        sa.Column("erp_value", sa.JSON()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(128)),
        sa.Column("chosen_side", sa.String(8)),
        sa.Column("note", sa.Text()),
        sa.Index("ix_co_conflict_status", "status", "created_at"),
        sa.Index(
            "uq_co_conflict_open_field",
            "crm_id",
            "field",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
    )
    op.create_table(
        "pps_run",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("prices", sa.JSON(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Index("ix_pps_run_started", "started_at"),
        sa.Index(
            "uq_pps_run_one_running",
            "status",
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        ),
    )


def downgrade() -> None:
    op.drop_table("pps_run")
    op.drop_table("co_conflict")
    op.drop_table("co_customer")
