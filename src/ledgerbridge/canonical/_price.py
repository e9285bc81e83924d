"""Price books and the prices in them (CRM price book entries, ERP pricing conditions)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field, ValidationInfo, field_validator

from ledgerbridge.canonical._base import CanonicalModel, UnitCode
from ledgerbridge.canonical._money import Money

__all__ = ["Price", "PriceBook"]


class PriceBook(CanonicalModel):
    """A named list of prices; the standard book holds every product's list price."""

    canonical_id: str | None = None
    crm_id: str | None = None
    name: str = Field(min_length=1)
    active: bool = True
    standard: bool = False


class Price(CanonicalModel):
    """The price of one product per `per_quantity` units, valid over a span of days."""

    canonical_id: str | None = None
    crm_id: str | None = None
    erp_id: str | None = None
    price_book_crm_id: str | None = None
    product_sku: str = Field(min_length=1)
    product_crm_id: str | None = None
    sales_organization: str | None = None
    distribution_channel: str | None = None
    unit_price: Money
    per_quantity: Decimal = Field(default=Decimal(1), gt=0)
    unit: UnitCode | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    active: bool = True

    @field_validator("unit_price")
    @classmethod
    def _not_negative(cls, value: Money) -> Money:
        if value.amount < 0:
            raise ValueError(f"a price cannot be negative ({value})")
        return value

    @field_validator("valid_to")
    @classmethod
    def _ends_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"validity ends {value}, before it starts {start}")
        return value
