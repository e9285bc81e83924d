"""Cursor paging: opaque cursors that round-trip, and refusal of foreign ones."""

from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError

from ledgerbridge.runtime.paging import decode_cursor, encode_cursor


def test_cursor_round_trips() -> None:
    """A position survives encoding, and no cursor means the first page."""
    position = {"offset": 200, "after": "001000000000042AAA"}
    assert decode_cursor(encode_cursor(position)) == position
    assert decode_cursor(None) == {}


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "WzFd"])
def test_foreign_cursor_is_refused_naming_the_field(cursor: str) -> None:
    """Garbage, non-JSON and non-object cursors are a validation error on ``cursor``."""
    with pytest.raises(RequestValidationError) as caught:
        decode_cursor(cursor)
    assert caught.value.errors()[0]["loc"] == ("query", "cursor")
