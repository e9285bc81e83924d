"""The inbox of consumed message ids (idempotent consumers).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inbox_consumed_at", "inbox", ["consumed_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_consumed_at", table_name="inbox")
    op.drop_table("inbox")
