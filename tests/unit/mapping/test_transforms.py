"""Named transforms, run through small mappings so they are exercised as specs use them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerbridge.mapping import MappingRegistry, load_mapping
from ledgerbridge.runtime.errors import MappingError


def run(tmp_path: Path, transform: str, value: Any, value_maps: str = "") -> Any:
    field = f"{{target: out, source: v, transform: {transform!r}}}"
    spec = f"id: probe\nsource: a\ntarget: b\n{value_maps}fields:\n  - {field}\n"
    (tmp_path / "probe.yaml").write_text(spec, encoding="utf-8")
    return MappingRegistry(tmp_path).get("probe").apply({"v": value}).get("out")


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12
    )
)
def test_json_numbers_become_the_decimal_that_was_sent(amount: Decimal) -> None:
    """A money amount that travelled as a JSON float comes back as the exact Decimal."""
    item = {
        "OrderItemNumber": "0000000001",
        "Product2": {"ProductCode": "GC1040"},
        "Quantity": 1.0,
        "UnitPrice": float(amount),
        "TotalPrice": float(amount),
        "CurrencyIsoCode": "EUR",
    }
    line = load_mapping("salesforce_orderitem_to_orderline").apply(item)
    assert line["unit_price"]["amount"] == amount


def test_decimal_refuses_bools_and_text(tmp_path: Path) -> None:
    """True is not 1 and 'abc' is not a number."""
    with pytest.raises(MappingError, match="decimal"):
        run(tmp_path, "decimal", True)
    with pytest.raises(MappingError, match="decimal"):
        run(tmp_path, "decimal", "abc")


def test_decimal_str_never_uses_exponents(tmp_path: Path) -> None:
    """OData Edm.Decimal strings are plain: 1E+2 is written 100."""
    assert run(tmp_path, "decimal_str", Decimal("1E+2")) == "100"
    assert run(tmp_path, "decimal_str", Decimal("0.0000001")) == "0.0000001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20", date(2026, 11, 20)),
        ("/Date(1795132800000)/", date(2026, 11, 20)),
        (datetime(2026, 11, 20, 23, 30, tzinfo=UTC), date(2026, 11, 20)),
    ],
)
def test_date_reads_iso_and_odata(tmp_path: Path, value: Any, expected: date) -> None:
    """ISO dates, OData V2 /Date(ms)/ and datetimes all become dates."""
    assert run(tmp_path, "date", value) == expected


def test_odata_date_writes_midnight_utc(tmp_path: Path) -> None:
    """A date is written as milliseconds since the epoch at midnight UTC."""
    assert run(tmp_path, "odata_date", date(1970, 1, 2)) == "/Date(86400000)/"
    assert run(tmp_path, "odata_date", date(1969, 12, 31)) == "/Date(-86400000)/"


@pytest.mark.parametrize(
    "value",
    ["2026-11-20T10:00:00.000+0000", "2026-11-20T11:00:00+01:00", "/Date(1795168800000+0060)/"],
)
def test_datetime_utc_reads_salesforce_iso_and_odata(tmp_path: Path, value: str) -> None:
    """Salesforce offsets, ISO offsets and OData V2 instants all land on the same UTC instant."""
    assert run(tmp_path, "datetime_utc", value) == datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_datetime_utc_refuses_naive(tmp_path: Path) -> None:
    """A datetime without an offset is refused rather than guessed."""
    with pytest.raises(MappingError, match="no timezone"):
        run(tmp_path, "datetime_utc", "2026-11-20T10:00:00")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("Germany", "DE"),
        ("United States", "US"),
        ("USA", "US"),
        ("UK", "GB"),
    ],
)
def test_country_iso2_reads_codes_and_names(tmp_path: Path, value: str, code: str) -> None:
    """Codes in any case, ISO short names and common aliases become alpha-2 codes."""
    assert run(tmp_path, "country_iso2", value) == code


def test_value_map_tries_exact_keys_then_patterns_in_order(tmp_path: Path) -> None:
    """An exact key beats a pattern; patterns are tried in the order written."""
    maps = "value_maps:\n  m: {'A/B': exact, '*/B': held, '*': other}\n"
    assert run(tmp_path, "value_map:m", "A/B", maps) == "exact"
    assert run(tmp_path, "value_map:m", "C/B", maps) == "held"
    assert run(tmp_path, "value_map:m", "C/A", maps) == "other"


def test_sum_adds_a_field_over_records(tmp_path: Path) -> None:
    """sum:<field> adds that field of each record exactly."""
    assert run(tmp_path, "sum:p", [{"p": 0.1}, {"p": 0.2}]) == Decimal("0.3")


def test_str_and_scalars_only(tmp_path: Path) -> None:
    """str renders scalars and refuses structures."""
    assert run(tmp_path, "str", 42) == "42"
    with pytest.raises(MappingError, match="expected a scalar"):
        run(tmp_path, "str", {"nested": 1})


@pytest.mark.parametrize("value", [True, 1.5, "12a", Decimal("1.5")])
def test_int_refuses_what_is_not_whole(tmp_path: Path, value: Any) -> None:
    """Bools, floats, non-digit text and fractional decimals are not whole numbers."""
    with pytest.raises(MappingError, match="int"):
        run(tmp_path, "int", value)


def test_int_reads_zero_padded_text(tmp_path: Path) -> None:
    """Salesforce's zero-padded numbers read as ints."""
    assert run(tmp_path, "int", "0000000042") == 42
    assert run(tmp_path, "int", Decimal(7)) == 7


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_decimal_refuses_non_finite(tmp_path: Path, value: str) -> None:
    """NaN and Infinity are refused."""
    with pytest.raises(MappingError, match="finite"):
        run(tmp_path, "decimal", value)


def test_bool_reads_text_booleans(tmp_path: Path) -> None:
    """'true' and 'FALSE' are booleans; 'yes' is not."""
    assert run(tmp_path, "bool", "true") is True
    assert run(tmp_path, "bool", "FALSE") is False
    with pytest.raises(MappingError, match="not a boolean"):
        run(tmp_path, "bool", "yes")


def test_datetime_utc_takes_aware_datetimes(tmp_path: Path) -> None:
    """An aware datetime is converted to UTC."""
    from datetime import timedelta, timezone

    value = datetime(2026, 11, 20, 11, tzinfo=timezone(timedelta(hours=1)))
    assert run(tmp_path, "datetime_utc", value) == datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_part_split_and_concat(tmp_path: Path) -> None:
    """part picks a separated part, split and concat turn text and lists into each other."""
    assert run(tmp_path, "part:/:1", "1010/1400000007/2026") == "1400000007"
    assert run(tmp_path, "part:/:5", "1010/1400000007/2026") is None
    assert run(tmp_path, "split:,", "a, b,,c") == ["a", "b", "c"]
    assert run(tmp_path, "concat:;", ["a", "b"]) == "a;b"
    assert run(tmp_path, "concat:;", []) is None


def test_sap_end_date_reads_open_end_as_none(tmp_path: Path) -> None:
    """9999-12-31 is no end; other dates are dates."""
    assert run(tmp_path, "sap_end_date", "/Date(253402214400000)/") is None
    assert run(tmp_path, "sap_end_date", "2026-12-31") == date(2026, 12, 31)
