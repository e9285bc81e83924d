"""Parties, addresses, products and the shared scalar types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from ledgerbridge.canonical import Address, Party, Product, UtcDatetime


def test_address_country_must_be_iso_alpha_2() -> None:
    """DE is accepted; DEU, Germany and ZZ are not."""
    assert (
        Address(
            street="Dietmar-Hopp-Allee 16", city="Walldorf", postal_code="69190", country="DE"
        ).country
        == "DE"
    )
    for country in ["DEU", "Germany", "ZZ", "de"]:
        with pytest.raises(ValidationError, match="3166"):
            Address(street="s", city="c", postal_code="1", country=country)


def test_party_needs_only_a_name_and_validates_currency() -> None:
    """Ids and contact data are optional; a currency must be ISO 4217."""
    assert Party(name="Acme GmbH").crm_id is None
    with pytest.raises(ValidationError, match="4217"):
        Party(name="Acme GmbH", currency="EURO")
    with pytest.raises(ValidationError):
        Party(name="")


def test_product_unit_is_an_erp_unit_code() -> None:
    """Units are 1-3 upper-case letters or digits; the default is EA and active."""
    product = Product(sku="TG11", name="Trading goods")
    assert (product.unit, product.active) == ("EA", True)
    with pytest.raises(ValidationError):
        Product(sku="TG11", name="Trading goods", unit="Each")


class _Stamp(BaseModel):
    at: UtcDatetime


def test_utc_datetime_normalises_and_refuses_naive() -> None:
    """Aware datetimes come out in UTC; naive ones are refused."""
    cet = timezone(timedelta(hours=1))
    assert _Stamp(at=datetime(2026, 1, 1, 10, tzinfo=cet)).at == datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert _Stamp(at=datetime(2026, 1, 1, 10, tzinfo=cet)).at.tzinfo is UTC
    with pytest.raises(ValidationError, match="timezone"):
        _Stamp(at=datetime(2026, 1, 1, 10))
