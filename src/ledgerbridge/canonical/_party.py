"""Parties (customers and other business partners) and their addresses."""

from __future__ import annotations

from pydantic import Field

from ledgerbridge.canonical._base import CanonicalModel, CountryCode, CurrencyCode

__all__ = ["Address", "Party"]


class Address(CanonicalModel):
    """A postal address; `country` is ISO 3166-1 alpha-2, `region` the state or province code."""

    street: str = Field(min_length=1)
    city: str = Field(min_length=1)
    postal_code: str = Field(min_length=1)
    region: str | None = None
    country: CountryCode


class Party(CanonicalModel):
    """A customer organisation as both systems know it, keyed by the ids each gives it."""

    canonical_id: str | None = None
    crm_id: str | None = None
    erp_id: str | None = None
    name: str = Field(min_length=1)
    account_number: str | None = None
    billing_address: Address | None = None
    phone: str | None = None
    email: str | None = None
    tax_id: str | None = None
    currency: CurrencyCode | None = None
