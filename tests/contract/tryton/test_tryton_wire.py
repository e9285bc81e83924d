"""Tryton's tagged JSON values, as the connector writes and reads them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from ledgerbridge.connectors.tryton._wire import dumps, loads

EAST = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1234.5600"),
        dt.date(2026, 2, 28),
        dt.datetime(2026, 2, 28, 23, 59, 58, 123456, tzinfo=dt.UTC),
        dt.time(13, 45, 7, 89),
        dt.timedelta(days=1, seconds=30),
        b"\x00\xffledger",
    ],
)
def test_values_survive_a_round_trip(value: object) -> None:
    """Each value Tryton tags comes back equal and of the same type."""
    back = loads(dumps({"params": [value]}))["params"][0]
    assert back == value
    assert type(back) is type(value)


def test_decimal_is_sent_as_its_exact_string() -> None:
    """A Decimal goes out as Tryton's tagged object with no float rounding."""
    assert json.loads(dumps(Decimal("0.10"))) == {"__class__": "Decimal", "decimal": "0.10"}


def test_aware_datetime_is_sent_as_naive_utc() -> None:
    """An aware datetime is converted to UTC; Tryton stores naive UTC."""
    sent = json.loads(dumps(dt.datetime(2026, 1, 1, 1, 30, tzinfo=EAST)))
    assert sent == {
        "__class__": "datetime",
        "year": 2025,
        "month": 12,
        "day": 31,
        "hour": 23,
        "minute": 30,
        "second": 0,
        "microsecond": 0,
    }


def test_datetime_from_tryton_is_aware_utc() -> None:
    """A datetime read from Tryton is tagged UTC."""
    body = b'{"__class__": "datetime", "year": 2026, "month": 3, "day": 1, "hour": 8,'
    body += b' "minute": 0, "second": 0, "microsecond": 0}'
    assert loads(body) == dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)


def test_unknown_python_types_are_refused() -> None:
    """A value with no Tryton encoding raises TypeError instead of sending garbage."""
    with pytest.raises(TypeError, match="complex"):
        dumps({"x": 1j})
