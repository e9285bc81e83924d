"""Failed attempts at handling a message, per consumer group (what counts toward max_deliver).

Revision ID: 0100
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0100"
down_revision = "0006"
branch_labels = ("delivery_failures",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_failure",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("error_type", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("delivery_failure")
