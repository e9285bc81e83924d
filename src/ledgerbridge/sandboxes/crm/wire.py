"""JSON in and out with exact money: Decimals are read from and written as plain JSON numbers.

The standard encoder cannot write a Decimal as a number, and going through float would round
amounts, so bodies are rendered here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.responses import Response


def loads(raw: bytes | str) -> Any:
    """Parse JSON, reading every number with a fraction or exponent as a Decimal."""
    return json.loads(raw, parse_float=Decimal)


def dumps(value: Any) -> str:
    """Render `value` as JSON, writing Decimals as exact JSON numbers."""
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as JSON")
    # Plain notation, never exponent, as Salesforce writes its numbers.
    text = format(value, "f")
    return text if text not in ("-0", "-0.0") else "0"


class SalesforceJSON(Response):
    """A JSON response whose Decimals stay exact."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode the body with `dumps`."""
        return dumps(content).encode()
