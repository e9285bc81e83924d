"""Money: exact Decimal amounts in one ISO 4217 currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from ledgerbridge.canonical import CurrencyMismatch, Money, minor_units


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_adds_and_subtracts_in_one_currency() -> None:
    """Sums and differences keep the currency and are exact."""
    assert eur("0.10") + eur("0.20") == eur("0.30")
    assert eur("5") - eur("7.5") == eur("-2.5")


def test_refuses_to_mix_currencies() -> None:
    """Adding, subtracting or comparing EUR with USD raises CurrencyMismatch."""
    usd = Money(amount=Decimal(1), currency="USD")
    with pytest.raises(CurrencyMismatch, match="EUR with USD"):
        eur("1") + usd
    with pytest.raises(CurrencyMismatch):
        eur("1") - usd
    with pytest.raises(CurrencyMismatch):
        _ = eur("1") < usd


def test_multiplies_by_decimal_or_int_but_not_float() -> None:
    """A factor may be a Decimal or int; a float factor is a TypeError."""
    assert eur("19.99") * 3 == eur("59.97")
    assert Decimal("1.5") * eur("100.1") == eur("150.15")
    with pytest.raises(TypeError):
        eur("1") * 1.5  # type: ignore[operator]


def test_rounds_half_up_to_minor_units() -> None:
    """Rounding follows the currency: cents for EUR, none for JPY, mils for KWD."""
    assert eur("2.345").rounded().amount == Decimal("2.35")
    assert Money(amount=Decimal("99.5"), currency="JPY").rounded().amount == Decimal("100")
    assert Money(amount=Decimal("1.2345"), currency="KWD").rounded().amount == Decimal("1.235")
    assert (minor_units("EUR"), minor_units("JPY"), minor_units("BHD")) == (2, 0, 3)


def test_rejects_float_amounts() -> None:
    """A float amount is refused: it has already lost the exact value."""
    with pytest.raises(ValidationError, match="must not be floats"):
        Money(amount=0.1, currency="EUR")  # type: ignore[arg-type]


def test_accepts_text_and_int_amounts() -> None:
    """Text and int amounts become exact Decimals."""
    assert Money(amount="0.1", currency="EUR").amount == Decimal("0.1")  # type: ignore[arg-type]
    assert Money(amount=5, currency="EUR").amount == Decimal(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity"])
def test_rejects_non_finite_amounts(amount: str) -> None:
    """NaN and infinities are not money."""
    with pytest.raises(ValidationError, match="finite"):
        Money(amount=Decimal(amount), currency="EUR")


@pytest.mark.parametrize("code", ["eur", "EURO", "XXX", "ABC", "", "DEM"])
def test_rejects_codes_that_are_not_active_iso_4217(code: str) -> None:
    """Lower case, made-up, testing and withdrawn codes are refused."""
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money(amount=Decimal(1), currency=code)


def test_total_of_nothing_is_zero_and_totals_are_exact() -> None:
    """Money.total adds in order and starts from zero of the currency."""
    assert Money.total([], "EUR") == Money.zero("EUR")
    assert Money.total([eur("0.1")] * 10, "EUR") == eur("1.0")


def test_is_frozen_and_closed() -> None:
    """Money cannot be changed in place nor carry unknown fields."""
    price = eur("1")
    with pytest.raises(ValidationError):
        price.amount = Decimal(2)  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        Money(amount=Decimal(1), currency="EUR", rate=1)  # type: ignore[call-arg]


def test_negation_and_ordering() -> None:
    """Negation keeps the currency; amounts in one currency order by value."""
    assert -eur("1.50") == eur("-1.50")
    assert eur("1") < eur("2")
    assert eur("2") <= eur("2")
    assert not eur("3") <= eur("2")
