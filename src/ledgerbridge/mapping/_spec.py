"""The shape of a mapping spec file, validated when the file is loaded.

Strictly private; the public face is `Mapping`. A spec reads::

    id: salesforce_product_to_product
    source: salesforce.Product2
    target: canonical.Product
    key: Id
    value_maps:
      unit: {Each: EA}
    fields:
      - {target: crm_id, source: Id, required: true}
      - {target: unit, source: QuantityUnitOfMeasure, transform: value_map:unit, default: EA}
      - {target: lines, source: OrderItems.records, each: salesforce_orderitem_to_orderline}
      - {target: SalesOrderType, constant: OR}
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ledgerbridge.mapping._paths import Select, parse_path
from ledgerbridge.mapping._transforms import known_transform

__all__ = ["FieldSpec", "MappingSpec", "MappingSpecError"]


class MappingSpecError(ValueError):
    """A mapping spec file is missing, malformed or refers to something that does not exist."""


def _check_path(text: str) -> str:
    parse_path(text)
    return text


class FieldSpec(BaseModel):
    """One target field: where its value comes from and how it is transformed.

    `source` is one path or a list of paths: the first present value wins, unless `join` is
    set, in which case all values are joined with it (absent ones as "") into one key, for a
    value map keyed on several source fields. With `when`, the field is written only if that
    path has a value (a currency beside an amount that may be absent). `$parent.X` reads the
    record holding the list an `each` mapping runs over; `$index` is the 1-based position in it.

    A field without `target` is a check: its transforms run on the source value and may fail
    the record, but nothing is written (a price per 10 units must not reach a per-unit field).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str | None = None
    source: str | list[str] | None = None
    constant: Any = None
    transform: list[str] = Field(default_factory=list)
    default: Any = None
    required: bool = False
    each: str | None = None
    join: str | None = None
    when: str | None = None

    @field_validator("transform", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("transform")
    @classmethod
    def _transforms_exist(cls, value: list[str]) -> list[str]:
        for spec in value:
            problem = known_transform(spec)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("target")
    @classmethod
    def _target_path(cls, value: str | None) -> str | None:
        if value is not None and any(isinstance(s, Select) for s in parse_path(value)):
            raise ValueError(
                f"target {value!r}: a selector [Key=Value] only reads, it cannot write"
            )
        return value

    @field_validator("when")
    @classmethod
    def _when_path(cls, value: str | None) -> str | None:
        return None if value is None else _check_path(value)

    @field_validator("source")
    @classmethod
    def _source_paths(cls, value: str | list[str] | None) -> str | list[str] | None:
        for path in [value] if isinstance(value, str) else value or []:
            _check_path(path)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        has_constant = "constant" in self.model_fields_set
        if has_constant == (self.source is not None):
            raise ValueError(f"field {self.target!r} needs exactly one of source or constant")
        if self.each is not None and not isinstance(self.source, str):
            raise ValueError(f"field {self.target!r}: each needs a single source path")
        if self.each is not None and self.transform:
            raise ValueError(f"field {self.target!r}: each and transform do not combine")
        if self.join is not None and not isinstance(self.source, list):
            raise ValueError(f"field {self.target!r}: join needs a list of source paths")
        if self.target is None and (self.each or not self.transform or self.source is None):
            raise ValueError("a check (a field without target) needs a source and a transform")
        return self

    @property
    def sources(self) -> list[str]:
        """The source paths, as a list (empty for a constant)."""
        return [self.source] if isinstance(self.source, str) else list(self.source or [])

    @property
    def rule(self) -> str:
        """How this field's value is made, as error messages and lineage name it."""
        if self.each is not None:
            return f"each:{self.each}"
        if "constant" in self.model_fields_set:
            return "constant"
        return " | ".join(self.transform) or "copy"


class MappingSpec(BaseModel):
    """A whole mapping: identity, source and target kinds, value maps and fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    source: str
    target: str
    key: str | None = None
    description: str | None = None
    value_maps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    fields: list[FieldSpec] = Field(min_length=1)

    @field_validator("key")
    @classmethod
    def _key_path(cls, value: str | None) -> str | None:
        return None if value is None else _check_path(value)

    @model_validator(mode="after")
    def _references_resolve(self, info: ValidationInfo) -> Self:
        # Tables shared by every spec in the folder come in through the validation context.
        shared = (info.context or {}).get("shared_value_maps", set())
        seen: set[str] = set()
        for field in self.fields:
            if field.target is not None and field.target in seen:
                raise ValueError(f"target {field.target!r} is mapped twice")
            seen.add(field.target or "")
            for spec in field.transform:
                name, _, arg = spec.partition(":")
                in_reach = arg in self.value_maps or arg in shared
                if name in {"value_map", "value_map_inverse"} and not in_reach:
                    raise ValueError(f"field {field.target!r}: no value map named {arg!r}")
        return self
