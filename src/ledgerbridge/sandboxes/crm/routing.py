"""Request and response plumbing the route modules share: JSON bodies and route registration."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ledgerbridge.sandboxes.crm import wire
from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.wire import SalesforceJSON

VERSIONED = re.compile(r"^/services/data/v(\d+\.\d)(/|$)")

Handler = Callable[..., Awaitable[Response]]


def json_response(content: Any, status: int = 200) -> Response:
    """A JSON response with exact Decimals."""
    return SalesforceJSON(content, status_code=status)


async def json_body(request: Request) -> Any:
    """The request's JSON body, numbers with fractions as Decimals; JSON_PARSER_ERROR if bad."""
    raw = await request.body()
    try:
        return wire.loads(raw) if raw else None
    except ValueError as exc:
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc


async def json_object(request: Request) -> dict[str, Any]:
    """The request's body, which must be a JSON object of field values."""
    data = await json_body(request)
    if not isinstance(data, dict):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values"
        )
    return data


def route(router: APIRouter, path: str, methods: list[str]) -> Callable[[Handler], Handler]:
    """Register a handler at `path` with and without a trailing slash, as Salesforce accepts."""

    def register(handler: Handler) -> Handler:
        router.add_api_route(path, handler, methods=methods)
        router.add_api_route(path + "/", handler, methods=methods, include_in_schema=False)
        return handler

    return register


def field_list(fields: str | None) -> list[str] | None:
    """The names in a `fields=A,B` parameter, or None for all fields."""
    if not fields:
        return None
    return [f.strip() for f in fields.split(",") if f.strip()]
