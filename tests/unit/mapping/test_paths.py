"""Dotted paths: parsing, reading into nested records and lists, writing nested targets."""

from __future__ import annotations

import pytest

from ledgerbridge.mapping._paths import (
    Index,
    Key,
    Select,
    parse_path,
    read_path,
    render_path,
    write_path,
)

RECORD = {
    "to_Item": {
        "results": [
            {"Material": "GC1040", "to_PricingElement": {"results": [{"ConditionType": "MWST"}]}},
            {
                "Material": "SL9040",
                "to_PricingElement": {"results": [{"ConditionType": "PR00", "V": 3}]},
            },
        ]
    }
}


@pytest.mark.parametrize(
    "text",
    [
        "to_Item.results[1].Material",
        "a[0][1].b",
        "lines[ConditionType=PR00].V",
        "$parent.CurrencyIsoCode",
    ],
)
def test_parse_and_render_are_inverse(text: str) -> None:
    """Rendering a parsed path gives the text back."""
    assert render_path(parse_path(text)) == text


def test_parse_segments() -> None:
    """Keys, indexes and selectors are told apart."""
    assert parse_path("a.b[2][K=V]") == (Key("a"), Key("b"), Index(2), Select("K", "V"))


@pytest.mark.parametrize("text", ["", "a..b", "[0].a", "a.b-c", "a[x]", "a[0"])
def test_malformed_paths_are_refused(text: str) -> None:
    """Empty parts, leading brackets, bad names and bad brackets raise ValueError."""
    with pytest.raises(ValueError, match="path"):
        parse_path(text)


def test_read_through_lists_and_selectors() -> None:
    """Indexes and selectors reach into lists; anything missing reads as None."""
    assert read_path(RECORD, parse_path("to_Item.results[1].Material")) == "SL9040"
    selector = parse_path("to_Item.results[1].to_PricingElement.results[ConditionType=PR00].V")
    assert read_path(RECORD, selector) == 3
    assert read_path(RECORD, parse_path("to_Item.results[5].Material")) is None
    assert (
        read_path(
            RECORD, parse_path("to_Item.results[0].to_PricingElement.results[ConditionType=PR00]")
        )
        is None
    )
    assert read_path(RECORD, parse_path("to_Item.results.Material")) is None
    assert read_path({"a": "text"}, parse_path("a[0]")) is None


def test_write_creates_dicts_and_lists() -> None:
    """Writing builds the intermediate containers, padding lists as needed."""
    target: dict[str, object] = {}
    write_path(target, parse_path("a.results[1].X"), 1)
    write_path(target, parse_path("a.results[1].Y"), 2)
    write_path(target, parse_path("b[0]"), "first")
    assert target == {"a": {"results": [None, {"X": 1, "Y": 2}]}, "b": ["first"]}


def test_write_through_a_selector_is_refused() -> None:
    """A selector only reads; writing through one raises."""
    with pytest.raises(ValueError, match="selector"):
        write_path({}, parse_path("a[K=V]"), 1)
    with pytest.raises(ValueError, match="selector"):
        write_path({}, parse_path("a[K=V].b"), 1)
