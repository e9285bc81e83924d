"""Edm values: JSON wire form (OData V2 verbose JSON), storage form and literals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ledgerbridge.sandboxes.erp.errors import bad_request
from ledgerbridge.sandboxes.erp.model import Prop

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JSON_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def ms_since_epoch(value: datetime) -> int:
    """Milliseconds since 1970 in UTC, the V2 /Date(...)/ tick."""
    return (value - _EPOCH) // timedelta(milliseconds=1)


def to_json(prop: Prop, value: Any) -> Any:
    """Encode a stored value the way SAP Gateway writes it in JSON."""
    if value is None:
        return None
    if prop.edm_type == "Edm.DateTime":
        return f"/Date({ms_since_epoch(value)})/"
    if prop.edm_type == "Edm.DateTimeOffset":
        return f"/Date({ms_since_epoch(value)}+0000)/"
    if prop.edm_type == "Edm.Decimal":
        return str(value)
    return value


def parse_iso_datetime(text: str) -> datetime:
    """Parse an ISO 8601 date-time; a value without offset is taken as UTC."""
    normalized = text.strip().replace("Z", "+00:00")
    # Python before 3.11's fromisoformat rejects 7 fractional digits; SAP sends them.
    normalized = re.sub(r"(\.\d{6})\d+", r"\1", normalized)
    parsed = datetime.fromisoformat(normalized)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_json(prop: Prop, raw: Any) -> Any:
    """Decode and validate a JSON value sent by a client for `prop`."""
    if raw is None:
        return None
    kind = prop.edm_type
    try:
        if kind == "Edm.String" or kind == "Edm.Guid":
            if not isinstance(raw, str):
                raise TypeError
            if prop.max_length is not None and len(raw) > prop.max_length:
                raise bad_request(
                    f"Value '{raw}' of property '{prop.name}' exceeds the maximum length "
                    f"of {prop.max_length}"
                )
            return raw
        if kind == "Edm.Boolean":
            if not isinstance(raw, bool):
                raise TypeError
            return raw
        if kind == "Edm.Decimal":
            if isinstance(raw, bool) or not isinstance(raw, str | int):
                # SAP accepts decimals as strings; floats would lose money precision
                raise TypeError
            return _decimal(prop, Decimal(raw))
        if kind in ("Edm.DateTime", "Edm.DateTimeOffset"):
            if not isinstance(raw, str):
                raise TypeError
            match = _JSON_DATE.match(raw)
            if match:
                return _EPOCH + timedelta(milliseconds=int(match.group(1)))
            return parse_iso_datetime(raw)
        if kind in ("Edm.Int32", "Edm.Int16", "Edm.Byte"):
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise TypeError
            return raw
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise bad_request(
            f"Invalid value {raw!r} for property '{prop.name}' of type {kind}",
            code="/IWBEP/CM_MGW_RT/022",
        ) from exc
    return raw


def _decimal(prop: Prop, value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(value)
    if prop.scale is not None:
        quantum = Decimal(1).scaleb(-prop.scale)
        if value != value.quantize(quantum):
            raise ValueError(value)
        value = value.quantize(quantum)
    if prop.precision is not None:
        digits = len(value.as_tuple().digits) - max(0, -int(value.as_tuple().exponent))
        if digits > prop.precision - (prop.scale or 0):
            raise ValueError(value)
    return value


def to_storage(value: Any) -> Any:
    """Encode a typed value for the JSON column (lossless)."""
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    return value


def from_storage(raw: Any) -> Any:
    """Inverse of `to_storage`."""
    if isinstance(raw, dict):
        if "$decimal" in raw:
            return Decimal(raw["$decimal"])
        if "$datetime" in raw:
            return datetime.fromisoformat(raw["$datetime"])
    return raw


def coerce_key(prop: Prop, text: str) -> Any:
    """A key value from the URL, typed like its property."""
    if prop.edm_type == "Edm.Decimal":
        return Decimal(text)
    return text
