"""Dead letters and the audit trail of what was done with them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("message_type", sa.String(128)),
        sa.Column("dedup_key", sa.String(420), nullable=False, unique=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(128), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("error_type", sa.String(128), nullable=False),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("case_id", sa.String(128)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("replay_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dead_lettered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(128)),
        sa.Column("resolution_note", sa.Text()),
    )
    for column in ("correlation_id", "case_id", "status"):
        op.create_index(f"ix_dead_letter_{column}", "dead_letter", [column])
    op.create_table(
        "dead_letter_action",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "dead_letter_id",
            sa.String(36),
            sa.ForeignKey("dead_letter.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_dead_letter_action_dead_letter_id", "dead_letter_action", ["dead_letter_id"]
    )


def downgrade() -> None:
    op.drop_table("dead_letter_action")
    op.drop_table("dead_letter")
