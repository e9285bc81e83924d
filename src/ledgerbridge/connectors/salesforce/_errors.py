"""Translate Salesforce and transport failures into ledgerbridge.runtime.errors.

Every failure the connector can meet passes through `from_response` or `from_transport`, so
httpx exceptions and Salesforce error bodies never leave the package.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ledgerbridge.runtime.errors import (
    AuthFailed,
    BackendRejected,
    BackendUnavailable,
    Conflict,
    ConnectorError,
    NotFound,
)

BACKEND = "salesforce"

# Refusals that say "not now" rather than "never": the caller may retry later.
_RETRY_LATER = frozenset({"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"})


def _items(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        return []
    return [item for item in body if isinstance(item, dict)]


def _urls(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    return [str(url) for url in body] if isinstance(body, list) else []


def _describe(response: httpx.Response, items: list[dict[str, Any]]) -> tuple[str, list[str]]:
    if not items:
        text = response.text.strip()[:200]
        return f"HTTP {response.status_code}" + (f": {text}" if text else ""), []
    messages: list[str] = []
    fields: list[str] = []
    for item in items:
        code = item.get("errorCode") or item.get("error") or "ERROR"
        message = item.get("message") or item.get("error_description") or ""
        messages.append(f"{code}: {message}")
        fields.extend(str(f) for f in item.get("fields") or [] if str(f) not in fields)
    return "; ".join(messages), fields


def error_codes(response: httpx.Response) -> set[str]:
    """The Salesforce error codes a failure response names."""
    return {str(item.get("errorCode") or item.get("error") or "") for item in _items(response)}


def from_response(response: httpx.Response) -> ConnectorError:
    """The ledgerbridge error for a Salesforce response with a failure status."""
    status = response.status_code
    items = _items(response)
    codes = error_codes(response)
    message, fields = _describe(response, items)
    if status == 300:
        message = "several records match the external id: " + ", ".join(_urls(response))
    kind: type[ConnectorError]
    if status >= 500 or codes & _RETRY_LATER:
        kind = BackendUnavailable
    elif status == 404:
        kind = NotFound
    elif status in (300, 409, 412):
        kind = Conflict
    elif status == 401 or (status == 403 and not codes & _RETRY_LATER):
        kind = AuthFailed
    else:
        kind = BackendRejected
    return kind(message, backend=BACKEND, status_code=status, fields=fields)


def from_auth_response(response: httpx.Response) -> ConnectorError:
    """The ledgerbridge error for a refused OAuth token request."""
    if response.status_code >= 500:
        return from_response(response)
    message, _ = _describe(response, _items(response))
    return AuthFailed(message, backend=BACKEND, status_code=response.status_code)


def from_transport(exc: httpx.HTTPError) -> BackendUnavailable:
    """The ledgerbridge error for a timeout or a connection that failed."""
    what = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
    return BackendUnavailable(f"Salesforce {what}: {exc!r}", backend=BACKEND)


def unreadable(response: httpx.Response) -> BackendUnavailable:
    """The ledgerbridge error for a success response whose body is not the JSON expected."""
    return BackendUnavailable(
        f"Salesforce answered {response.status_code} with an unreadable body",
        backend=BACKEND,
        status_code=response.status_code,
    )
