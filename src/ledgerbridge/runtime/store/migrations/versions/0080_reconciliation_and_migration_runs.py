"""Account-reconciliation runs with their differences; historical-migration runs with batches.

Revision ID: 0080
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op

revision = "0080"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recon_run",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("repair", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Index("ix_recon_run_started", "started_at"),
    )
    op.create_table(
        "recon_difference",
        sa.Column("difference_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(36),
            sa.ForeignKey("recon_run.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("crm_id", sa.String(64)),
        sa.Column("erp_ids", sa.JSON(), nullable=False),
        sa.Column("field", sa.String(64)),
        sa.Column("crm_value", sa.Text()),
        sa.Column("erp_value", sa.Text()),
        sa.Column("resolution", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Index("ix_recon_difference_run", "run_id", "difference_id"),
    )
    op.create_table(
        "migration_run",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("checkpoint", sa.String(512)),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("reconciled", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Index("ix_migration_run_created", "created_at"),
    )
    op.create_table(
        "migration_batch",
        sa.Column(
            "run_id",
            sa.String(36),
            sa.ForeignKey("migration_run.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sequence", sa.Integer(), primary_key=True),
        sa.Column("cursor_in", sa.String(512)),
        sa.Column("cursor_out", sa.String(512)),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("reconciled", sa.Integer(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("migration_batch")
    op.drop_table("migration_run")
    op.drop_table("recon_difference")
    op.drop_table("recon_run")
