"""What a backend sends is screened before it becomes canonical (OWASP API10: unsafe
consumption of APIs): free text with control characters, oversize strings and values of the
wrong type are refused at the System layer, the whole record at once.

Strictly private; `UnsafePayload` is re-exported by the package.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ledgerbridge.runtime.errors import ConnectorError

__all__ = ["MAX_TEXT", "UnsafePayload", "backend_of", "screen", "unsafe_text"]

#: The longest text a backend field holds (Salesforce's long text area): longer is not a record.
MAX_TEXT = 131_072
# C0 and C1 controls and DEL; tab and line breaks (LF, and CR of CRLF) are text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A mapping's `source` names the backend before the first dot.
_BACKENDS = {"salesforce": "salesforce", "s4": "s4hana", "tryton": "tryton"}
# Transforms that take a list or a record as their input.
_TAKE_STRUCTURES = frozenset({"sum", "concat"})


class UnsafePayload(ConnectorError):
    """A backend sent a record unsafe to pass on; names the backend, mapping, record and field.

    Answered as a 502 problem naming the backend and field: the fault is the backend's, not
    the caller's, and the value itself is never echoed.
    """

    def __init__(
        self, *, backend: str, mapping_id: str, field: str, rule: str, record_id: str | None
    ) -> None:
        where = f"record {record_id!r}, " if record_id else ""
        super().__init__(
            f"mapping {mapping_id}: {where}field {field!r} is unsafe: {rule}",
            backend=backend,
            fields=[field],
        )
        self.mapping_id = mapping_id
        self.field = field
        self.rule = rule
        self.record_id = record_id


def backend_of(source: str) -> str | None:
    """The backend a mapping reads from (its spec's ``source``), None for canonical input."""
    return _BACKENDS.get(source.split(".", 1)[0])


def unsafe_text(value: str) -> str | None:
    """Why ``value`` is not text a backend may send, or None when it is."""
    if len(value) > MAX_TEXT:
        return f"text longer than {MAX_TEXT} characters"
    found = _CONTROL.search(value)
    if found is not None:
        return f"control character U+{ord(found.group()):04X} in text"
    return None


def screen(value: Any, transforms: list[str]) -> str | None:
    """Why ``value``, read from a backend for one field, is unsafe; None when it is not.

    A field reads one value unless a transform takes a list or record (``sum``, ``concat``).
    """
    if {spec.partition(":")[0] for spec in transforms} & _TAKE_STRUCTURES:
        items = value if isinstance(value, list) else [value]
        texts = [v for item in items for v in _texts(item)]
    elif isinstance(value, Mapping | list):
        kind = "a record" if isinstance(value, Mapping) else "a list"
        return f"wrong type: expected a single value, got {kind}"
    else:
        texts = [value] if isinstance(value, str) else []
    return next((reason for text in texts if (reason := unsafe_text(text))), None)


def _texts(item: Any) -> list[str]:
    if isinstance(item, str):
        return [item]
    if isinstance(item, Mapping):
        return [v for v in item.values() if isinstance(v, str)]
    return []
