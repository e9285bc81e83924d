"""Table definitions shared by the house; Alembic migrations create them (see migrations/)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

crosswalk = sa.Table(
    "crosswalk",
    metadata,
    sa.Column("canonical_id", sa.String(36), primary_key=True),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("crm_id", sa.String(64)),
    sa.Column("erp_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("entity", "crm_id", name="uq_crosswalk_entity_crm_id"),
    sa.UniqueConstraint("entity", "erp_id", name="uq_crosswalk_entity_erp_id"),
)
