"""Conditional GET: an ETag on every representation, and 304 Not Modified when it still holds.

The ETag is a hash of the exact bytes sent, so it changes exactly when the body does; a client
on a slow link sends it back in ``If-None-Match`` and gets an empty 304 instead of the body::

    return conditional_json(request, page.model_dump(mode="json"))
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request, Response, status


def entity_tag(body: bytes) -> str:
    """A strong ETag for ``body``."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str, tag: str) -> bool:
    # Weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored, * matches anything.
    candidates = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return "*" in candidates or tag in candidates


def conditional_json(request: Request, content: Any, *, max_age: int = 0) -> Response:
    """``content`` as compact JSON with its ETag, or 304 when the client already has it.

    Args:
        request: The request being answered (its ``If-None-Match`` is read).
        content: JSON-ready data (``model_dump(mode="json")``).
        max_age: Seconds the client may reuse the answer without asking (private cache).
    """
    body = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    tag = entity_tag(body)
    headers = {"ETag": tag, "Cache-Control": f"private, max-age={max_age}"}
    if (sent := request.headers.get("if-none-match")) is not None and _matches(sent, tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
