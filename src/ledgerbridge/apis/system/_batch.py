"""What every batch endpoint of the System layer checks and reports the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError

from ledgerbridge.runtime.batch import BatchOutcome
from ledgerbridge.runtime.errors import ConnectorError, LedgerbridgeError, MappingError


def require_unique_keys(keys: Sequence[Any], key: str) -> None:
    """Refuse the batch (422 naming ``records.<i>.<key>``) if a key is missing or repeated."""
    errors: list[dict[str, Any]] = []
    first: dict[Any, int] = {}
    for index, value in enumerate(keys):
        if not value:
            message = f"required: a batch upserts by {key}"
        elif value in first:
            message = f"repeats record {first[value]}'s {key}"
        else:
            first[value] = index
            continue
        errors.append(
            {"loc": ("body", "records", index, key), "msg": message, "type": "value_error"}
        )
    if errors:
        raise RequestValidationError(errors)


def refused(index: int, error: LedgerbridgeError) -> BatchOutcome:
    """The outcome of a record the mapping or the backend refused, naming what it can."""
    if isinstance(error, MappingError):
        return BatchOutcome.refused(index, error.message, [error.field])
    fields = error.fields if isinstance(error, ConnectorError) else []
    return BatchOutcome.refused(index, error.message, fields)
