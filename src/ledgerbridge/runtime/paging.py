"""Cursor paging, the same on every list endpoint: ``?limit=N&cursor=...`` in, a `Page` out.

A cursor is opaque to callers: base64url of a small JSON object the API chooses (an offset
into the backend's result, a last-seen key). The API decodes it back with `decode_cursor`; a
cursor that was tampered with or comes from elsewhere is a 422 naming the ``cursor`` field.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

ItemT = TypeVar("ItemT")

MAX_LIMIT = 200
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.", examples=[50])]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        description="The next_cursor of the previous page.",
        examples=["eyJhZnRlciI6IjAwMTAwMDAwMDAwMDA0MkFBQSJ9"],
    ),
]


class Page(BaseModel, Generic[ItemT]):
    """One page of a list; ``next_cursor`` is absent on the last page."""

    items: list[ItemT]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque cursor for ``position``."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    """The position a cursor stands for ({} for the first page); 422 when it is not ours."""
    if cursor is None:
        return {}
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        decoded = None
    if not isinstance(decoded, dict):
        raise _not_ours()
    return decoded


def offset_of(cursor: str | None) -> int:
    """Where the page an offset cursor stands for starts (0 for the first page); 422 naming
    ``cursor`` when it carries no valid offset."""
    offset = decode_cursor(cursor).get("offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _not_ours()
    return offset


def page_of(window: Sequence[ItemT], *, offset: int, limit: int) -> Page[ItemT]:
    """The page of a window read with ``limit + 1`` items from ``offset``."""
    more = len(window) > limit
    return Page[ItemT](
        items=list(window[:limit]),
        next_cursor=encode_cursor({"offset": offset + limit}) if more else None,
    )


def encode_keyset_cursor(at: datetime, key: str) -> str:
    """A cursor to the items after the one stamped ``at`` with ``key``, for a list ordered
    by (time, key)."""
    return encode_cursor({"at": at.isoformat(), "id": key})


def decode_keyset_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, key) an `encode_keyset_cursor` cursor stands for (None for the first
    page); 422 when it is not one."""
    position = decode_cursor(cursor)
    if not position:
        return None
    try:
        return datetime.fromisoformat(position["at"]), str(position["id"])
    except (KeyError, TypeError, ValueError):
        raise _not_ours() from None


def _not_ours() -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", "cursor"), "msg": "not a cursor from this API", "type": "value_error"}]
    )
