"""Money: a Decimal amount in one ISO 4217 currency."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import field_validator

from ledgerbridge.canonical._base import CanonicalModel, CurrencyCode
from ledgerbridge.canonical._codes import minor_units

__all__ = ["CurrencyMismatch", "Money"]


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


class Money(CanonicalModel):
    """An amount of one currency; arithmetic refuses to mix currencies.

    Usage::

        price = Money(amount=Decimal("19.99"), currency="EUR")
        total = (price * 3).rounded()          # Money(amount=Decimal('59.97'), currency='EUR')
        price + Money(amount=Decimal("1"), currency="USD")   # raises CurrencyMismatch
    """

    amount: Decimal
    currency: CurrencyCode

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        # A float has already lost the exact amount; make the caller convert from text.
        if isinstance(value, float):
            raise ValueError("money amounts must not be floats; pass a Decimal, int or str")
        return value

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return nothing of `currency`."""
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str) -> Money:
        """Add `amounts`, all in `currency`; the total of nothing is zero."""
        result = cls.zero(currency)
        for amount in amounts:
            result = result + amount
        return result

    def rounded(self) -> Money:
        """Round half up to the currency's minor units (2 for EUR, 0 for JPY)."""
        exponent = Decimal(1).scaleb(-minor_units(self.currency))
        return Money(amount=self.amount.quantize(exponent, ROUND_HALF_UP), currency=self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if not isinstance(factor, Decimal | int) or isinstance(factor, bool):
            return NotImplemented
        return Money(amount=self.amount * factor, currency=self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
