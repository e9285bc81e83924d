"""How an sObject is declared: its fields, their types and the rules the sandbox enforces.

Validation, query evaluation and describe all read these declarations (see `objects`), so an
object behaves the same whichever door a request comes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal[
    "id",
    "string",
    "textarea",
    "boolean",
    "date",
    "datetime",
    "currency",
    "double",
    "percent",
    "picklist",
    "reference",
    "url",
    "phone",
    "email",
]


@dataclass(frozen=True)
class Field:
    """One field of an sObject, with the rules the sandbox enforces on it."""

    name: str
    type: FieldType
    label: str = ""
    length: int = 255
    required: bool = False
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: object = None
    cascade_delete: bool = False
    scale: int = 2
    calculated: bool = False
    auto_number: bool = False


@dataclass(frozen=True)
class SObjectType:
    """An sObject: its API name, key prefix and fields in describe order."""

    name: str
    key_prefix: str
    label: str
    label_plural: str
    fields: tuple[Field, ...]
    by_lower: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_lower", {f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> Field | None:
        """The field called `name`, matched case-insensitively as Salesforce does."""
        return self.by_lower.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        """The reference field whose relationship name is `name` (Account for AccountId)."""
        lowered = name.lower()
        for candidate in self.fields:
            if candidate.relationship_name and candidate.relationship_name.lower() == lowered:
                return candidate
        return None

    @property
    def name_field(self) -> Field:
        """The field that names a record: its auto number (OrderNumber, CaseNumber) or Name."""
        numbered = next((f for f in self.fields if f.auto_number), None)
        return numbered or self.by_lower["name"]
