"""The base class and constrained scalar types every canonical model shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints

from ledgerbridge.canonical._codes import is_country, is_currency

__all__ = ["CanonicalModel", "CountryCode", "CurrencyCode", "UnitCode", "UtcDatetime"]


class CanonicalModel(BaseModel):
    """Frozen, closed base: a canonical record is a value, and unknown fields are a bug."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


def _country(code: str) -> str:
    if not is_country(code):
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


CurrencyCode = Annotated[str, AfterValidator(_currency)]
"""An active ISO 4217 code, upper case (``"EUR"``)."""

CountryCode = Annotated[str, AfterValidator(_country)]
"""An ISO 3166-1 alpha-2 code, upper case (``"DE"``)."""

UnitCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,3}$")]
"""A unit of measure code as the ERP keys it (``"EA"``, ``"KG"``, ``"H"``)."""

UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
"""A timezone-aware datetime, normalised to UTC; naive datetimes are refused."""
