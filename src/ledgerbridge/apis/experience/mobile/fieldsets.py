"""Sparse fieldsets: ``?fields=number,total`` keeps only those keys of each item.

Names are checked against the item model, so a typo is a 422 naming ``fields`` rather than a
silently empty item.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

Fields = Annotated[
    str | None,
    Query(
        max_length=500,
        description="Comma-separated field names to keep in each item; all when absent.",
        examples=["number,total,status"],
    ),
]


def chosen_fields(fields: str | None, model: type[BaseModel]) -> tuple[str, ...] | None:
    """The names asked for, in the model's order; None for all; 422 for an unknown name."""
    if fields is None:
        return None
    asked = {name.strip() for name in fields.split(",") if name.strip()}
    unknown = sorted(asked - set(model.model_fields))
    if unknown or not asked:
        known = ", ".join(model.model_fields)
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "fields"),
                    "msg": f"unknown field(s) {', '.join(unknown) or '(none given)'}; "
                    f"known: {known}",
                    "type": "value_error",
                }
            ]
        )
    return tuple(name for name in model.model_fields if name in asked)


def sparse(item: BaseModel, fields: tuple[str, ...] | None) -> dict[str, Any]:
    """``item`` as JSON-ready data, cut down to ``fields``; nulls are left out to save bytes."""
    data = item.model_dump(mode="json", exclude_none=True)
    if fields is None:
        return data
    return {name: data[name] for name in fields if name in data}
