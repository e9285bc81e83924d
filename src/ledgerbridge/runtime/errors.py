"""The one error tree of ledgerbridge.

    LedgerbridgeError
    ├── ConnectorError                 a backend call went wrong (carries the backend name)
    │   ├── BackendUnavailable         timeouts, 5xx, dropped connections: safe to retry
    │   │   └── BackendPaused          not before ``retry_after`` seconds (rate limit, open breaker)
    │   ├── BackendRejected            the backend refused the request (4xx, business error)
    │   ├── AuthFailed                 credentials or session refused
    │   ├── NotFound                   the record does not exist in the backend
    │   └── Conflict                   duplicate or stale write (300, 409)
    │       └── PreconditionFailed     an If-Match that no longer matches (412)
    ├── MappingError                   a record could not be translated (mapping id + field path)
    └── IdempotencyConflict            an Idempotency-Key was reused with another payload

Connectors translate their vendor's failures into this tree at their edge; the app factory
turns it into RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import Any


class LedgerbridgeError(Exception):
    """Base of every error ledgerbridge raises on purpose."""

    def __init__(self, message: str, *, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.correlation_id = correlation_id


class ConnectorError(LedgerbridgeError):
    """A call to a backend failed."""

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        status_code: int | None = None,
        fields: list[str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, correlation_id=correlation_id)
        self.backend = backend
        self.status_code = status_code
        self.fields = fields or []


class BackendUnavailable(ConnectorError):
    """The backend did not answer usefully (timeout, 5xx, connection lost); retrying may help."""


class BackendPaused(BackendUnavailable):
    """The backend must not be called for ``retry_after`` seconds: fail fast, do not retry now."""

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        retry_after: int,
        status_code: int | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(
            message, backend=backend, status_code=status_code, correlation_id=correlation_id
        )
        self.retry_after = retry_after


class BackendRejected(ConnectorError):
    """The backend understood the request and refused it; retrying will not help."""


class AuthFailed(ConnectorError):
    """The backend refused our credentials or session."""


class NotFound(ConnectorError):
    """The record asked for does not exist in the backend."""


class Conflict(ConnectorError):
    """The write collides with existing state (duplicate match, stale ETag)."""


class PreconditionFailed(Conflict):
    """An If-Match no longer matches: the record changed since the caller read it."""


class MappingError(LedgerbridgeError):
    """A record could not be mapped; names the mapping, the record, the field, value and rule."""

    def __init__(
        self,
        *,
        mapping_id: str,
        field: str,
        rule: str,
        record_id: str | None = None,
        value: Any = None,
        correlation_id: str | None = None,
    ) -> None:
        where = f"record {record_id!r}, " if record_id else ""
        super().__init__(
            f"mapping {mapping_id}: {where}field {field!r} (value {value!r}) failed rule {rule}",
            correlation_id=correlation_id,
        )
        self.mapping_id = mapping_id
        self.field = field
        self.rule = rule
        self.record_id = record_id
        self.value = value


class IdempotencyConflict(LedgerbridgeError):
    """An Idempotency-Key was reused with a different request payload."""
