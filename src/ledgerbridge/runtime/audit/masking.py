"""Masking personal data (names, emails, phone numbers, tax ids, bank details) before it is
logged or written to the audit trail.

Fields are recognised by name, and emails and IBANs also inside free text::

    mask_personal({"email": "ada@example.com", "iban": "DE89370400440532013000"})
    # {"email": "a***@example.com", "iban": "****3000"}
    mask_personal({"last_name": "Lovelace"})  # {"last_name": "L***"}

:func:`mask_log_event` is the same as a structlog processor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

#: Field names (lower case, without separators) that hold personal data.
PERSONAL_FIELDS = frozenset(
    {
        "name",
        "firstname",
        "lastname",
        "fullname",
        "contactname",
        "customername",
        "email",
        "emailaddress",
        "phone",
        "mobile",
        "phonenumber",
        "taxid",
        "vatid",
        "vatnumber",
        "taxnumber",
        "iban",
        "bic",
        "swift",
        "accountnumber",
        "bankaccount",
        "bankdetails",
        "routingnumber",
        "street",
        "address",
        "birthdate",
        "dateofbirth",
    }
)
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){11,30}\b")
_VISIBLE_TAIL = 4


def _field_key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _mask_value(value: object) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    text = str(value)
    if _EMAIL.fullmatch(text):
        return _EMAIL.sub(r"\1***@\2", text)
    compact = text.replace(" ", "")
    if any(c.isdigit() for c in compact):
        # Numbers (IBAN, tax id, phone) keep their tail, enough to tell two apart.
        return "****" + compact[-_VISIBLE_TAIL:] if len(compact) > _VISIBLE_TAIL * 2 else "****"
    # Names and addresses keep their initial only.
    return f"{text[:1]}***" if text else text


def mask_text(text: str) -> str:
    """``text`` with every email and IBAN in it masked."""
    text = _EMAIL.sub(r"\1***@\2", text)
    return _IBAN.sub(lambda m: "****" + m.group(0).replace(" ", "")[-_VISIBLE_TAIL:], text)


def mask_personal(data: Any) -> Any:
    """A copy of ``data`` with personal fields masked, at any depth, and emails and IBANs
    masked in every other string."""
    if isinstance(data, Mapping):
        return {
            key: _mask_value(value)
            if isinstance(key, str) and _field_key(key) in PERSONAL_FIELDS
            else mask_personal(value)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [mask_personal(item) for item in data]
    if isinstance(data, str):
        return mask_text(data)
    return data


def mask_log_event(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor masking personal data in every log event."""
    masked = mask_personal(dict(event_dict))
    event_dict.clear()
    event_dict.update(masked)
    return event_dict
