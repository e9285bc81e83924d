"""Engine behaviour at the edges: model errors with no source, constants, odd inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import pytest
from pydantic import BaseModel, model_validator

from ledgerbridge.canonical import Money, Product
from ledgerbridge.mapping import Lineage, MappingRegistry, load_mapping, register_transform
from ledgerbridge.runtime.errors import MappingError


def mapping_from(tmp_path: Path, fields: str, name: str = "probe") -> Any:
    spec = f"id: {name}\nsource: a\ntarget: b\nkey: Id\nfields:\n{fields}"
    (tmp_path / f"{name}.yaml").write_text(spec, encoding="utf-8")
    return MappingRegistry(tmp_path).get(name)


def test_target_field_no_mapping_fills_is_named_by_target(tmp_path: Path) -> None:
    """A model field the mapping never writes is reported by its target path."""
    mapping = mapping_from(tmp_path, "  - {target: name, source: Name}\n")
    with pytest.raises(MappingError) as caught:
        mapping.to_model({"Id": "7", "Name": "Widget"}, Product)
    assert (caught.value.record_id, caught.value.field) == ("7", "sku")
    assert caught.value.rule.startswith("Product.sku: Field required")


def test_bad_constant_is_named_by_target(tmp_path: Path) -> None:
    """A constant the model refuses is reported by its target path and value."""
    mapping = mapping_from(
        tmp_path, "  - {target: amount, source: A}\n  - {target: currency, constant: EURO}\n"
    )
    with pytest.raises(MappingError) as caught:
        mapping.to_model({"A": "1"}, Money)
    assert (caught.value.field, caught.value.value) == ("currency", "EURO")


class _Pair(BaseModel):
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low > self.high:
            raise ValueError("low above high")
        return self


def test_whole_model_rule_is_named_by_model(tmp_path: Path) -> None:
    """A rule on the whole model (no field) is reported under the model's name."""
    mapping = mapping_from(
        tmp_path, "  - {target: low, source: L}\n  - {target: high, source: H}\n"
    )
    with pytest.raises(MappingError) as caught:
        mapping.to_model({"Id": "p1", "L": 5, "H": 1}, _Pair)
    assert caught.value.field == "_Pair"
    assert "low above high" in caught.value.rule


def test_each_item_must_be_a_record(sf_order: dict[str, Any]) -> None:
    """A list element that is not a record is refused at its position."""
    sf_order["OrderItems"]["records"].append("not a record")
    with pytest.raises(MappingError) as caught:
        load_mapping("salesforce_order_to_order").apply(sf_order)
    assert caught.value.field == "OrderItems.records[2]"
    assert caught.value.rule == "expected a record in salesforce_orderitem_to_orderline"


def test_parent_value_failure_is_named_at_parent_level(sf_order: dict[str, Any]) -> None:
    """A bad parent currency read by an item is named as the parent's own field."""
    registry_mapping = load_mapping("salesforce_orderitem_to_orderline")
    item = sf_order["OrderItems"]["records"][0]
    with pytest.raises(MappingError) as caught:
        registry_mapping.apply(item | {"CurrencyIsoCode": "EURO"})
    assert (caught.value.field, caught.value.value) == ("CurrencyIsoCode", "EURO")


def test_constants_in_lineage() -> None:
    """Constant fields appear in lineage with no source and the constant rule."""
    lineage = load_mapping("order_to_s4_sales_order").lineage()
    assert Lineage(None, "SalesOrderType", "constant") in lineage
    assert (
        Lineage("lines[].line_number", "to_Item.results[].SalesOrderItem", "sap_item_number")
        in lineage
    )


def test_repr_names_both_shapes() -> None:
    """A mapping's repr says which shapes it translates."""
    assert repr(load_mapping("salesforce_account_to_party")) == (
        "<Mapping salesforce_account_to_party: salesforce.Account -> canonical.Party>"
    )


def test_transform_names_are_unique() -> None:
    """Registering a second transform under a taken name raises."""
    with pytest.raises(ValueError, match="already registered"):
        register_transform("upper")(lambda value, arg, maps: value)
