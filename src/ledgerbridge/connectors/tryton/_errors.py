"""Translate Tryton's failures into ledgerbridge's error tree.

Tryton answers business errors with HTTP 200 and an ``error`` member:
``["UserError", [message, description, domain]]``, ``["UserWarning", [name, message,
description]]``, ``["ConcurrencyException", message]``; an unexpected server exception is
``[text, traceback]``. Refused sessions are HTTP 401, throttled logins 429. Vendor and
transport exceptions stop here: callers only ever see ConnectorError subclasses.
"""

from __future__ import annotations

from typing import Any

import httpx

from ledgerbridge.runtime.errors import (
    AuthFailed,
    BackendRejected,
    BackendUnavailable,
    Conflict,
    ConnectorError,
)

BACKEND = "tryton"


class TrytonUserError(BackendRejected):
    """Tryton refused the call with a UserError; ``message`` is Tryton's own sentence."""

    def __init__(self, message: str, *, description: str = "") -> None:
        super().__init__(message, backend=BACKEND)
        self.description = description


class TrytonUserWarning(BackendRejected):
    """Tryton stopped the call with a UserWarning that a user may acknowledge by ``name``."""

    def __init__(self, message: str, *, name: str, description: str = "") -> None:
        super().__init__(message, backend=BACKEND)
        self.name = name
        self.description = description


def from_error(error: Any) -> ConnectorError:
    """The most specific error for the ``error`` member of a JSON-RPC answer."""
    if isinstance(error, list) and len(error) == 2:
        kind, args = error
        if kind == "UserError" and isinstance(args, list) and args:
            return TrytonUserError(str(args[0]), description=_text(args, 1))
        if kind == "UserWarning" and isinstance(args, list) and len(args) >= 2:
            return TrytonUserWarning(str(args[1]), name=str(args[0]), description=_text(args, 2))
        if kind == "ConcurrencyException":
            return Conflict(str(args), backend=BACKEND)
        if kind == "LoginException" and isinstance(args, list) and len(args) >= 2:
            return AuthFailed(f"Tryton asks for more at login: {args[1]}", backend=BACKEND)
        # Anything else is an exception Tryton did not expect: a server fault, as a 500 is.
        return BackendUnavailable(f"Tryton raised an unexpected error: {kind}", backend=BACKEND)
    return BackendUnavailable(f"Tryton failed: {error!r}", backend=BACKEND)


def from_response(response: httpx.Response) -> ConnectorError:
    """The most specific error for a non-success HTTP status."""
    status = response.status_code
    line = f"Tryton answered HTTP {status} {response.reason_phrase}".strip()
    kind: type[ConnectorError]
    if status == 401:
        kind = AuthFailed
    elif status == 409:
        kind = Conflict
    elif status == 429 or status >= 500:
        kind = BackendUnavailable
    else:
        kind = BackendRejected
    return kind(line, backend=BACKEND, status_code=status)


def from_transport(exc: httpx.HTTPError) -> ConnectorError:
    """Timeouts and connection failures: Tryton did not answer."""
    return BackendUnavailable(f"Tryton did not answer: {exc!r}", backend=BACKEND)


def from_payload(detail: str) -> ConnectorError:
    """A 2xx answer that is not a JSON-RPC response."""
    return BackendUnavailable(f"Tryton answered with an unreadable body: {detail}", backend=BACKEND)


def _text(args: list[Any], index: int) -> str:
    return str(args[index] or "") if len(args) > index else ""
