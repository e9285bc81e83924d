"""Cursors over a list the Experience layer holds whole: the cursor carries an offset."""

from __future__ import annotations

from ledgerbridge.runtime.paging import encode_cursor


def next_cursor(offset: int, limit: int, total: int) -> str | None:
    """The cursor of the page after ``[offset, offset + limit)``, or None on the last page."""
    end = offset + limit
    return encode_cursor({"offset": end}) if end < total else None
