"""The named transforms a mapping spec may apply to a value, and how to register more.

A transform is called as ``fn(value, arg, value_maps)``: `arg` is the text after the colon in
``truncate:20`` or ``value_map:order_status`` (None without one). It returns the new value or
raises ValueError / TypeError, which the engine reports as a MappingError naming the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from ledgerbridge.canonical import COUNTRY_NAMES, is_country, is_currency

__all__ = ["Transform", "ValueMaps", "known_transform", "register_transform", "run_transform"]

ValueMaps = Mapping[str, Mapping[str, Any]]
Transform = Callable[[Any, str | None, ValueMaps], Any]

TransformT = TypeVar("TransformT", bound=Transform)

_REGISTRY: dict[str, Transform] = {}
_NEEDS_ARG = {"equals", "part", "sum", "truncate", "value_map", "value_map_inverse"}


def register_transform(name: str) -> Callable[[TransformT], TransformT]:
    """Register a transform under `name` for specs to use; names are unique.

    Args:
        name: what specs write in `transform:` (before any ``:arg``).

    Returns:
        A decorator that registers and returns the function unchanged.
    """

    def decorate(fn: TransformT) -> TransformT:
        if name in _REGISTRY:
            raise ValueError(f"transform {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return decorate


def known_transform(spec: str) -> str | None:
    """Return why `spec` (``name`` or ``name:arg``) is not usable, or None when it is."""
    name, _, arg = spec.partition(":")
    if name not in _REGISTRY:
        return f"unknown transform {name!r} (known: {', '.join(sorted(_REGISTRY))})"
    if name in _NEEDS_ARG and not arg:
        return f"transform {name!r} needs an argument, as in {name}:..."
    return None


def run_transform(spec: str, value: Any, value_maps: ValueMaps) -> Any:
    """Apply the transform `spec` names to `value`."""
    name, _, arg = spec.partition(":")
    return _REGISTRY[name](value, arg or None, value_maps)


def _text(value: Any) -> str:
    if isinstance(value, Mapping | list | tuple | set | bytes):
        raise TypeError(f"expected a scalar, got {type(value).__name__}")
    return str(value)


@register_transform("str")
def _str(value: Any, arg: str | None, maps: ValueMaps) -> str:
    return _text(value)


@register_transform("equals")
def _equals(value: Any, arg: str | None, maps: ValueMaps) -> Any:
    """Pass the value on only if its text is `arg`; for checks such as ``[int, "equals:1"]``."""
    if _text(value) != arg:
        raise ValueError(f"{value!r} must be {arg}")
    return value


@register_transform("upper")
def _upper(value: Any, arg: str | None, maps: ValueMaps) -> str:
    return _text(value).upper()


@register_transform("truncate")
def _truncate(value: Any, arg: str | None, maps: ValueMaps) -> str:
    return _text(value)[: int(arg or 0)]


@register_transform("int")
def _int(value: Any, arg: str | None, maps: ValueMaps) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise TypeError(f"expected an integer or digits, got {type(value).__name__}")
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise ValueError(f"{value} is not a whole number")
    return int(value)


@register_transform("decimal")
def _decimal(value: Any, arg: str | None, maps: ValueMaps) -> Decimal:
    # JSON numbers arrive as float; str() gives the shortest text that reads back as the same
    # float, which is what the sender wrote, so no binary noise enters the Decimal.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


@register_transform("sum")
def _sum(value: Any, arg: str | None, maps: ValueMaps) -> Decimal:
    """Sum field `arg` over a list of records; a single number passes through as a Decimal."""
    if not isinstance(value, list):
        return _decimal(value, None, maps)
    return sum(
        (_decimal(item.get(arg or ""), None, maps) for item in value if isinstance(item, Mapping)),
        Decimal(0),
    )


@register_transform("decimal_str")
def _decimal_str(value: Any, arg: str | None, maps: ValueMaps) -> str:
    """Write a number as OData V2 wants an Edm.Decimal: a plain string, no exponent."""
    return format(_decimal(value, None, maps), "f")


@register_transform("bool")
def _bool(value: Any, arg: str | None, maps: ValueMaps) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ValueError(f"{value!r} is not a boolean")


_ODATA_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _odata_instant(text: str) -> datetime | None:
    match = _ODATA_DATE.match(text)
    if match is None:
        return None
    # The optional +hhmm of OData V2 only says which zone to display; the ms count is UTC.
    return _EPOCH + timedelta(milliseconds=int(match["ms"]))


@register_transform("date")
def _date(value: Any, arg: str | None, maps: ValueMaps) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    text = _text(value)
    instant = _odata_instant(text)
    return instant.date() if instant else date.fromisoformat(text)


@register_transform("odata_date")
def _odata_date(value: Any, arg: str | None, maps: ValueMaps) -> str:
    day = _date(value, None, maps)
    instant = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"/Date({(instant - _EPOCH) // timedelta(milliseconds=1)})/"


@register_transform("datetime_utc")
def _datetime_utc(value: Any, arg: str | None, maps: ValueMaps) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        text = _text(value)
        parsed = _odata_instant(text) or datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no timezone; refusing to guess one")
    return parsed.astimezone(UTC)


@register_transform("value_map")
def _value_map(value: Any, arg: str | None, maps: ValueMaps) -> Any:
    table = maps[arg or ""]
    key = _text(value)
    if key in table:
        return table[key]
    # Patterns ("*/B") are tried in the order the spec lists them, after exact keys.
    for pattern, result in table.items():
        if any(c in pattern for c in "*?[") and fnmatchcase(key, pattern):
            return result
    raise ValueError(f"{key!r} is not in value map {arg!r}")


@register_transform("value_map_inverse")
def _value_map_inverse(value: Any, arg: str | None, maps: ValueMaps) -> Any:
    """Look `value` up among a table's results; one table then serves both directions."""
    key = _text(value)
    for source, result in maps[arg or ""].items():
        if _text(result) == key:
            return source
    raise ValueError(f"{key!r} is no result of value map {arg!r}")


@register_transform("currency")
def _currency(value: Any, arg: str | None, maps: ValueMaps) -> str:
    code = _text(value).strip().upper()
    if not is_currency(code):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code


_COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "united states of america": "US",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "deutschland": "DE",
    "the netherlands": "NL",
    "holland": "NL",
    "south korea": "KR",
    "russia": "RU",
    "czech republic": "CZ",
    "turkey": "TR",
    "vietnam": "VN",
    "ivory coast": "CI",
}
_COUNTRY_BY_NAME = {name.casefold(): code for code, name in COUNTRY_NAMES.items()}


@register_transform("country_iso2")
def _country_iso2(value: Any, arg: str | None, maps: ValueMaps) -> str:
    text = _text(value).strip()
    if is_country(text.upper()):
        return text.upper()
    folded = text.casefold()
    code = _COUNTRY_BY_NAME.get(folded) or _COUNTRY_ALIASES.get(folded)
    if code is None:
        raise ValueError(f"{value!r} is not a country code or name this mapping knows")
    return code


@register_transform("sap_item_number")
def _sap_item_number(value: Any, arg: str | None, maps: ValueMaps) -> str:
    """Number items 10, 20, 30... from line numbers 1, 2, 3, as S/4HANA numbers them."""
    return str(_int(value, None, maps) * 10)


@register_transform("not")
def _not(value: Any, arg: str | None, maps: ValueMaps) -> bool:
    return not _bool(value, None, maps)


@register_transform("abs")
def _abs(value: Any, arg: str | None, maps: ValueMaps) -> Decimal:
    return abs(_decimal(value, None, maps))


@register_transform("date_iso")
def _date_iso(value: Any, arg: str | None, maps: ValueMaps) -> str:
    """Write a date as the CRM wants it: ``YYYY-MM-DD``."""
    return _date(value, None, maps).isoformat()


_OPEN_END = date(9999, 12, 31)


@register_transform("sap_end_date")
def _sap_end_date(value: Any, arg: str | None, maps: ValueMaps) -> date | None:
    """Read an ERP validity end; 9999-12-31 is how the ERP says "no end", so it becomes None."""
    end = _date(value, None, maps)
    return None if end == _OPEN_END else end


@register_transform("list")
def _list(value: Any, arg: str | None, maps: ValueMaps) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@register_transform("split")
def _split(value: Any, arg: str | None, maps: ValueMaps) -> list[str]:
    return [part.strip() for part in _text(value).split(arg or ",") if part.strip()]


@register_transform("concat")
def _concat(value: Any, arg: str | None, maps: ValueMaps) -> str | None:
    parts = [_text(part) for part in _list(value, None, maps)]
    return (arg or ",").join(parts) or None


@register_transform("part")
def _part(value: Any, arg: str | None, maps: ValueMaps) -> str | None:
    """``part:/:1`` is the second "/"-separated part of the text, None when there is none."""
    separator, _, position = (arg or "").rpartition(":")
    parts = _text(value).split(separator or ",")
    index = int(position)
    return (parts[index] or None) if index < len(parts) else None
