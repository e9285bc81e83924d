"""Spec files are validated when loaded, with errors that say which file and which rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerbridge.mapping import MappingRegistry, MappingSpecError

GOOD = """
id: {name}
source: test.In
target: test.Out
key: Id
fields:
  - {{target: name, source: Name, required: true}}
"""


def registry(tmp_path: Path, **specs: str) -> MappingRegistry:
    for name, text in specs.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return MappingRegistry(tmp_path)


def spec_error(tmp_path: Path, name: str, **specs: str) -> str:
    with pytest.raises(MappingSpecError) as caught:
        registry(tmp_path, **specs).get(name)
    return str(caught.value)


def test_every_shipped_mapping_loads() -> None:
    """All mapping specs shipped in the package validate and resolve their children."""
    loaded = MappingRegistry().load_all()
    assert {mapping.id for mapping in loaded} >= {
        "salesforce_account_to_party",
        "salesforce_product_to_product",
        "salesforce_order_to_order",
        "salesforce_orderitem_to_orderline",
        "party_to_s4_business_partner",
        "order_to_s4_sales_order",
        "s4_sales_order_to_order_status",
    }


def test_a_good_spec_loads_and_maps(tmp_path: Path) -> None:
    """A minimal spec from a folder maps a record."""
    mapping = registry(tmp_path, tiny=GOOD.format(name="tiny")).get("tiny")
    assert mapping.apply({"Id": "1", "Name": "Acme"}) == {"name": "Acme"}


def test_unknown_transform(tmp_path: Path) -> None:
    """A transform nobody registered is named, with the file and field."""
    text = GOOD.format(name="bad") + "  - {target: x, source: X, transform: titlecase}\n"
    message = spec_error(tmp_path, "bad", bad=text)
    assert "bad.yaml" in message
    assert "fields.1.transform" in message
    assert "unknown transform 'titlecase'" in message


def test_value_map_must_exist(tmp_path: Path) -> None:
    """value_map:<name> must name a table under value_maps."""
    text = GOOD.format(name="bad") + "  - {target: x, source: X, transform: 'value_map:status'}\n"
    assert "no value map named 'status'" in spec_error(tmp_path, "bad", bad=text)


def test_transform_argument_required(tmp_path: Path) -> None:
    """truncate without a length is refused."""
    text = GOOD.format(name="bad") + "  - {target: x, source: X, transform: truncate}\n"
    assert "needs an argument" in spec_error(tmp_path, "bad", bad=text)


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("{target: x}", "exactly one of source or constant"),
        ("{target: x, source: X, constant: 1}", "exactly one of source or constant"),
        ("{target: x, source: [A, B], each: other}", "each needs a single source path"),
        ("{target: x, source: X, join: /}", "join needs a list of source paths"),
        ("{target: x, source: X, each: other, transform: str}", "do not combine"),
        ("{target: 'x[K=V]', source: X}", "only reads"),
        ("{source: X}", "a check (a field without target) needs a source and a transform"),
        ("{target: 'x[', source: X}", "malformed path"),
        ("{target: name, source: Other}", "mapped twice"),
        ("{target: x, source: X, colour: red}", "Extra inputs are not permitted"),
    ],
)
def test_incoherent_fields(tmp_path: Path, field: str, problem: str) -> None:
    """Fields that contradict themselves or the spec are refused with the reason."""
    text = GOOD.format(name="bad") + f"  - {field}\n"
    assert problem in spec_error(tmp_path, "bad", bad=text)


def test_each_names_an_existing_mapping(tmp_path: Path) -> None:
    """each: must name another spec in the same folder."""
    text = GOOD.format(name="bad") + "  - {target: items, source: Items, each: ghost}\n"
    assert "unknown mapping 'ghost'" in spec_error(tmp_path, "bad", bad=text)


def test_each_cycle_is_refused(tmp_path: Path) -> None:
    """A mapping that reaches itself through each is refused instead of recursing forever."""
    text = GOOD.format(name="loop") + "  - {target: items, source: Items, each: loop}\n"
    assert "uses itself" in spec_error(tmp_path, "loop", loop=text)


def test_id_must_match_file_name(tmp_path: Path) -> None:
    """The id inside the file is the file's name."""
    assert "differs from the file name" in spec_error(tmp_path, "one", one=GOOD.format(name="two"))


def test_invalid_yaml_and_wrong_top_level(tmp_path: Path) -> None:
    """Broken YAML and a list at the top level are reported as such."""
    assert "not valid YAML" in spec_error(tmp_path, "broken", broken="id: [unclosed\n")
    assert "top level" in spec_error(tmp_path, "listy", listy="- a\n- b\n")


def test_missing_spec(tmp_path: Path) -> None:
    """Asking for a mapping that has no file names it."""
    assert "no mapping named 'nothing'" in spec_error(tmp_path, "nothing")


def test_value_map_keys_must_be_text(tmp_path: Path) -> None:
    """Unquoted YAML numbers as value map keys are refused rather than silently converted."""
    text = "value_maps:\n  codes: {1: one}\n" + GOOD.format(name="bad")
    assert "value_maps.codes" in spec_error(tmp_path, "bad", bad=text)


def test_shared_value_maps_serve_every_spec(tmp_path: Path) -> None:
    """A table in value_maps/ is usable by name, both ways, from any spec in the folder."""
    (tmp_path / "value_maps").mkdir()
    (tmp_path / "value_maps" / "colours.yaml").write_text("Red: R\nBlue: B\n", encoding="utf-8")
    fields = (
        "  - {target: code, source: Colour, transform: 'value_map:colours'}\n"
        "  - {target: label, source: Code, transform: 'value_map_inverse:colours'}\n"
    )
    mapping = registry(tmp_path, paint=GOOD.format(name="paint") + fields).get("paint")
    assert mapping.apply({"Name": "x", "Colour": "Blue", "Code": "R"}) == {
        "name": "x",
        "code": "B",
        "label": "Red",
    }


def test_shared_value_map_must_be_a_table(tmp_path: Path) -> None:
    """A shared table that is a list, or has number keys, is refused with its file."""
    (tmp_path / "value_maps").mkdir()
    (tmp_path / "value_maps" / "bad.yaml").write_text("- a\n", encoding="utf-8")
    assert "value map" in spec_error(tmp_path, "tiny", tiny=GOOD.format(name="tiny"))
