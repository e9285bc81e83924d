"""Credit management: a customer's credit limit and how much of it is used."""

from __future__ import annotations

from datetime import date

from pydantic import Field, ValidationInfo, field_validator

from ledgerbridge.canonical._base import CanonicalModel
from ledgerbridge.canonical._money import Money

__all__ = ["CreditExposure", "CreditLimit"]


def _not_negative(value: Money) -> Money:
    if value.amount < 0:
        raise ValueError(f"must not be negative ({value})")
    return value


class CreditLimit(CanonicalModel):
    """The credit a customer is granted in one credit segment."""

    customer_erp_id: str = Field(min_length=1)
    credit_segment: str = Field(min_length=1)
    limit: Money
    valid_to: date | None = None
    blocked: bool = False
    risk_class: str | None = None

    _limit_not_negative = field_validator("limit")(_not_negative)


class CreditExposure(CanonicalModel):
    """How much of a customer's limit is used by open orders, deliveries and receivables.

    Usage::

        exposure.available          # limit - exposure (negative when over the limit)
        exposure.allows(order.net_total)
    """

    customer_erp_id: str = Field(min_length=1)
    credit_segment: str = Field(min_length=1)
    limit: Money
    exposure: Money
    blocked: bool = False

    _limit_not_negative = field_validator("limit")(_not_negative)

    @field_validator("exposure")
    @classmethod
    def _exposure_in_limit_currency(cls, value: Money, info: ValidationInfo) -> Money:
        limit = info.data.get("limit")
        if limit is not None and value.currency != limit.currency:
            raise ValueError(f"exposure is in {value.currency}, the limit in {limit.currency}")
        return value

    @property
    def available(self) -> Money:
        """Credit left: limit minus exposure; negative when the customer is over the limit."""
        return self.limit - self.exposure

    def allows(self, amount: Money) -> bool:
        """Whether `amount` more fits under the limit, and the account is not blocked."""
        return not self.blocked and amount <= self.available
