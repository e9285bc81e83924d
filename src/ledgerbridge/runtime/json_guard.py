"""Refuses JSON bodies that hold text no backend can store: lone UTF-16 surrogates.

JSON allows escapes such as "\\udb57" on their own; Python decodes them into a str that cannot
be encoded as UTF-8, so the first backend call would fail with a 500 after the request was
accepted. This middleware answers 422 up front instead, naming the field.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerbridge.runtime.problems import FieldProblem, problem_response


def _unencodable_path(value: Any, path: str = "") -> str | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    children: Any = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        if (found := _unencodable_path(child, f"{path}.{key}" if path else str(key))) is not None:
            return found
    return None


class RejectUnencodableJson:
    """ASGI middleware: 422 for a JSON body holding lone surrogates; other requests untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"")
        if scope["type"] != "http" or b"json" not in content_type:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            field = _unencodable_path(json.loads(body)) if b"\\u" in body else None
        except ValueError:
            field = None  # malformed JSON: the framework names that itself
        if field is not None:
            problem = problem_response(
                422,
                title="Invalid request",
                detail=f"invalid field(s): {field}",
                kind="validation",
                field_errors=[FieldProblem(field=field, message="text is not valid Unicode")],
            )
            await problem(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
