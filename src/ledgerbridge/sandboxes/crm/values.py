"""Checking and normalising field values on their way in, by field type."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.schema import Field

_TEXT = ("string", "textarea", "url", "phone", "email", "picklist")


def format_datetime(moment: datetime) -> str:
    """A UTC datetime as Salesforce writes it: 2024-05-01T09:30:00.000+0000."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def next_stamp(now: datetime, previous: str | None) -> str:
    """A modification stamp for now, always later than `previous`.

    Stamps have millisecond precision; two writes within one millisecond must still get
    different stamps, or a client using SystemModstamp as an ETag would miss a change.
    """
    if previous is not None:
        floor = parse_datetime(previous) + timedelta(milliseconds=1)
        now = max(now, floor)
    return format_datetime(now)


def parse_datetime(text: str) -> datetime:
    """Read an ISO 8601 datetime (Z, +0000 or +00:00 offsets); naive means UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _deserialize_error(field: Field, value: Any, kind: str) -> SalesforceError:
    shown = "VALUE_STRING" if isinstance(value, str) else "VALUE_NUMBER"
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {shown} value {value} "
        "or request may be missing a required field",
        [field.name],
    )


def _decimal(field: Field, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _deserialize_error(field, value, "double")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:
            raise _deserialize_error(field, value, "double") from exc
    else:
        raise _deserialize_error(field, value, "double")
    if not number.is_finite():
        raise _deserialize_error(field, value, "double")
    return number


def money(value: Decimal, scale: int = 2) -> Decimal:
    """Round an amount to the field's scale the way Salesforce does (half up)."""
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def coerce(field: Field, value: Any) -> Any:
    """The stored form of `value` for `field`, or a SalesforceError saying why it is refused."""
    if value is None:
        return None
    kind = field.type
    if kind in _TEXT:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise _deserialize_error(field, value, "String")
        text = str(value)
        if len(text) > field.length:
            raise SalesforceError(
                400,
                "STRING_TOO_LONG",
                f"{field.label}: data value too large: {text[:40]} (max length={field.length})",
                [field.name],
            )
        if kind == "picklist" and field.restricted and text not in field.picklist:
            raise SalesforceError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{field.label}: bad value for restricted picklist field: {text}",
                [field.name],
            )
        return text
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _deserialize_error(field, value, "boolean")
    if kind == "currency":
        return money(_decimal(field, value), field.scale)
    if kind in ("double", "percent"):
        return _decimal(field, value)
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise _deserialize_error(field, value, "date") from exc
    if kind == "datetime":
        try:
            return format_datetime(parse_datetime(str(value)))
        except ValueError as exc:
            raise _deserialize_error(field, value, "datetime") from exc
    if not isinstance(value, str):
        raise _deserialize_error(field, value, "String")
    return value
