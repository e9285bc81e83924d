"""What the ERP System APIs share at their HTTP edge: offset cursors, ETags and If-Match.

An ERP list is read a window at a time (``$skip``/``$top`` in a stable order); the cursor
carries the offset of the next window. A window is fetched one record longer than the page,
so the extra record tells whether another page follows without counting.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Header, Response

ItemT = TypeVar("ItemT")

IfMatch = Annotated[
    str,
    Header(
        alias="If-Match",
        description="The ETag of the version you read; 412 when the record changed since.",
        examples=["W/\"datetimeoffset'2026-11-24T13%3A00%3A00.0000000Z'\""],
    ),
]


def tag(response: Response, etag: str | None) -> None:
    """Send the ETag of the version in the body, where the ERP keeps one."""
    if etag is not None:
        response.headers["ETag"] = etag
