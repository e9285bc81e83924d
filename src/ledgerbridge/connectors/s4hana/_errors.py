"""Translate HTTP failures of S/4HANA into ledgerbridge's error tree.

Vendor and transport exceptions stop here: callers only ever see ConnectorError subclasses.
"""

from __future__ import annotations

import httpx

from ledgerbridge.runtime.errors import (
    AuthFailed,
    BackendRejected,
    BackendUnavailable,
    Conflict,
    ConnectorError,
    NotFound,
)

BACKEND = "s4hana"


def sap_message(response: httpx.Response) -> str:
    """The human message of SAP's error body, or the status line when there is none."""
    try:
        body = response.json()
        value = body["error"]["message"]["value"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()
    return str(value)


def from_response(response: httpx.Response) -> ConnectorError:
    """The most specific error for a non-success response."""
    status = response.status_code
    message = sap_message(response)
    kind: type[ConnectorError]
    if status == 401:
        kind = AuthFailed
    elif status == 404:
        kind = NotFound
    elif status in (409, 412):
        kind = Conflict
    elif status >= 500:
        kind = BackendUnavailable
    else:
        kind = BackendRejected
    return kind(message, backend=BACKEND, status_code=status)


def from_transport(exc: httpx.HTTPError) -> ConnectorError:
    """Timeouts and connection failures: the backend did not answer."""
    return BackendUnavailable(f"S/4HANA did not answer: {exc!r}", backend=BACKEND)


def from_payload(detail: str) -> ConnectorError:
    """A 2xx answer whose body is not OData JSON."""
    return BackendUnavailable(
        f"S/4HANA answered with an unreadable body: {detail}", backend=BACKEND
    )
