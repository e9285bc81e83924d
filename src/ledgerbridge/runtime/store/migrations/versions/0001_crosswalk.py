"""The crosswalk: canonical id <-> CRM id <-> ERP id.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crosswalk",
        sa.Column("canonical_id", sa.String(36), primary_key=True),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("crm_id", sa.String(64)),
        sa.Column("erp_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("entity", "crm_id", name="uq_crosswalk_entity_crm_id"),
        sa.UniqueConstraint("entity", "erp_id", name="uq_crosswalk_entity_erp_id"),
    )


def downgrade() -> None:
    op.drop_table("crosswalk")
