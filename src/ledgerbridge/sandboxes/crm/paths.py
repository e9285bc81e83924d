"""Field paths bound to the schema, and field values in the form SOQL compares them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.objects import SOBJECTS
from ledgerbridge.sandboxes.crm.schema import Field, SObjectType
from ledgerbridge.sandboxes.crm.soql import Path
from ledgerbridge.sandboxes.crm.values import parse_datetime

NUMERIC = ("currency", "double", "percent")
TEXT = ("string", "textarea", "url", "phone", "email", "picklist")


class Resolved:
    """A path bound to the schema: the relationship hops and the final field."""

    def __init__(self, hops: list[Field], field: Field) -> None:
        self.hops = hops
        self.field = field


def _invalid_field(name: str, sobject_type: SObjectType) -> SalesforceError:
    return SalesforceError(
        400,
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{sobject_type.name}'. If you are attempting to use "
        "a custom field, be sure to append the '__c' after the custom field name.",
    )


def bind(root: SObjectType, path: Path) -> Resolved:
    """Resolve `path` from `root` through parent relationships, or INVALID_FIELD."""
    current = root
    hops: list[Field] = []
    for name in path.parts[:-1]:
        relation = current.relationship(name)
        if relation is None or relation.reference_to is None:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"Didn't understand relationship '{name}' in field path. If you are attempting "
                "to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name.",
            )
        hops.append(relation)
        current = SOBJECTS[relation.reference_to.lower()]
    field = current.field(path.parts[-1])
    if field is None:
        raise _invalid_field(path.parts[-1], current)
    return Resolved(hops, field)


def comparable(value: Any, field: Field) -> Any:
    """A stored value in a form that compares the way SOQL compares that field type."""
    if value is None:
        return None
    if field.type in NUMERIC:
        return Decimal(value)
    if field.type == "date":
        return date.fromisoformat(value)
    if field.type == "datetime":
        return parse_datetime(value)
    if field.type in TEXT:
        return str(value).lower()
    return value
