"""Checkpoints of event-stream consumers (the CRM change data capture subscription first).

Revision ID: 0020
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_checkpoint",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stream_checkpoint")
