"""Products (CRM products, ERP materials)."""

from __future__ import annotations

from pydantic import Field

from ledgerbridge.canonical._base import CanonicalModel, UnitCode

__all__ = ["Product"]


class Product(CanonicalModel):
    """A sellable product; `sku` is the key both systems share (ProductCode = Material)."""

    canonical_id: str | None = None
    crm_id: str | None = None
    erp_id: str | None = None
    sku: str = Field(min_length=1)
    name: str = Field(min_length=1)
    unit: UnitCode = "EA"
    active: bool = True
