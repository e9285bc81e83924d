"""Failures the resilience layer raises itself; both are BackendUnavailable, so callers above
treat them as "the backend cannot be reached now" (503)."""

from __future__ import annotations

from ledgerbridge.runtime.errors import BackendPaused, BackendUnavailable


class CircuitOpen(BackendPaused):
    """The backend's circuit breaker is open: the call failed fast, without reaching it."""

    def __init__(self, backend: str, *, retry_after: int) -> None:
        super().__init__(
            f"circuit breaker open; calls resume in {retry_after}s",
            backend=backend,
            retry_after=retry_after,
        )


class BulkheadFull(BackendUnavailable):
    """Too many calls to the backend are in flight and the wait for a slot ran out."""
