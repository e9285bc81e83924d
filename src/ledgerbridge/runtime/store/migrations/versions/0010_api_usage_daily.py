"""API analytics: calls, errors and latency buckets per day, API, major version and consumer.

Revision ID: 0010
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None

_LATENCY_BOUNDS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


def upgrade() -> None:
    buckets = [f"le_{bound}ms" for bound in _LATENCY_BOUNDS_MS] + ["over"]
    op.create_table(
        "api_usage_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("api", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("latency_us", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in buckets),
    )
    # "Who still calls v1" reads by API and version over recent days.
    op.create_index(
        "ix_api_usage_daily_api_version_day", "api_usage_daily", ["api", "version", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_api_usage_daily_api_version_day", table_name="api_usage_daily")
    op.drop_table("api_usage_daily")
