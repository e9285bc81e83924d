"""Wire models and literals of OData V2 as S/4HANA speaks it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

_JSON_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ODataEntity(BaseModel):
    """One entity as S/4HANA returned it.

    Usage::

        order = await client.get("API_SALES_ORDER_SRV", "A_SalesOrder", "1", expand=["to_Item"])
        order.properties["TotalNetAmount"]   # "21.00": Edm.Decimal stays a string
        order.properties["to_Item"]          # [{"SalesOrderItem": "10", ...}]

    `/Date(ms)/` values arrive as UTC datetimes; expanded navigation is a list of dicts
    (to-many) or a dict (to-one); deferred navigation is left out.
    """

    model_config = ConfigDict(frozen=True)

    uri: str
    type: str
    etag: str | None
    properties: dict[str, Any]

    @classmethod
    def from_json(cls, body: Mapping[str, Any], *, etag: str | None = None) -> ODataEntity:
        """Build from one `d` object of a V2 JSON response."""
        metadata = body.get("__metadata") or {}
        return cls(
            uri=str(metadata.get("uri", "")),
            type=str(metadata.get("type", "")),
            etag=metadata.get("etag") or etag,
            properties=_plain(body),
        )


def _value(raw: Any) -> Any:
    if isinstance(raw, str):
        match = _JSON_DATE.match(raw)
        if match:
            return _EPOCH + timedelta(milliseconds=int(match.group(1)))
        return raw
    if isinstance(raw, Mapping):
        if "__deferred" in raw:
            return _DEFERRED
        if "results" in raw and isinstance(raw["results"], list):
            return [_plain(child) for child in raw["results"]]
        return _plain(raw)
    if isinstance(raw, list):
        return [_plain(child) for child in raw]
    return raw


_DEFERRED = object()


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for name, raw in body.items():
        if name == "__metadata":
            continue
        value = _value(raw)
        if value is not _DEFERRED:
            plain[name] = value
    return plain


LiteralValue = str | int | bool | Decimal | datetime | None
"""A Python value `odata_literal` can write."""


def odata_literal(value: LiteralValue) -> str:
    """Format a Python value as an OData V2 literal for $filter and keys.

    Strings are quoted with embedded quotes doubled (`O'Brien` -> `'O''Brien'`), so a
    value can never break out of its literal. A naive datetime (meant as UTC) becomes
    `datetime'…'` for Edm.DateTime properties; an aware one `datetimeoffset'…Z'` for
    Edm.DateTimeOffset properties such as LastChangeDateTime.

    Args:
        value: the value to format.

    Returns:
        The literal text, e.g. `'1000'`, `12.50M`, `datetime'2024-01-31T00:00:00'`.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value}M"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return f"datetime'{value.isoformat()}'"
        utc = value.astimezone(UTC).replace(tzinfo=None).isoformat()
        return f"datetimeoffset'{utc}Z'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no OData literal for {type(value).__name__}")


KeyValue = str | int | Decimal | datetime
"""A key property's value: strings for most SAP keys, datetimes for validity ends."""


def key_segment(key: str | Mapping[str, KeyValue]) -> str:
    """The `(...)` key predicate of an entity URL, percent-encoded for the path."""
    if isinstance(key, str):
        inner = odata_literal(key)
    else:
        inner = ",".join(f"{name}={odata_literal(value)}" for name, value in key.items())
    return "(" + quote(inner, safe="'=,") + ")"
