"""A circuit breaker per backend, on purgatory (asyncio-native, in-memory state).

Only BackendUnavailable counts as a failure: a 404 or a refused write means the backend is
up and answering, and so does a pause it asked for (a rate limit, BackendPaused). After
``threshold`` failed calls in a row the breaker opens and calls fail fast with CircuitOpen,
whose ``retry_after`` says when the next probe goes through; after ``reset_timeout`` the
next call is that probe (half-open), and its outcome closes or reopens the breaker.
"""

from __future__ import annotations

import contextlib
import enum
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from purgatory import AsyncCircuitBreakerFactory, CircuitBreakerFailed, ContextChanged, Event
from purgatory.domain.model import OpenedState

from ledgerbridge.runtime.errors import BackendPaused, BackendUnavailable
from ledgerbridge.runtime.resilience._errors import BulkheadFull, CircuitOpen


class BreakerState(enum.StrEnum):
    """Where a breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


_FROM_PURGATORY = {
    "closed": BreakerState.CLOSED,
    "opened": BreakerState.OPEN,
    "half-opened": BreakerState.HALF_OPEN,
}


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """A breaker's state as operators and metrics see it."""

    backend: str
    state: BreakerState
    failures: int
    threshold: int
    reset_timeout: float
    retry_after: int | None


BreakerListener = Callable[[str, BreakerState], None]
"""Told the backend name and the new state each time a breaker changes state."""


def counts_as_failure(exc: BaseException) -> bool:
    """Whether a call's exception says the backend is unwell (and not our own load shedding)."""
    return isinstance(exc, BackendUnavailable) and not isinstance(exc, BulkheadFull | BackendPaused)


class CircuitBreaker:
    """Guards every call to one backend.

    breaker = CircuitBreaker("s4hana", threshold=5, reset_timeout=30.0)
    async with breaker.guard():
        await s4.get(...)
    """

    def __init__(
        self,
        backend: str,
        *,
        threshold: int,
        reset_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` must be the wall clock purgatory reads (time.time), or a fake of both."""
        self.backend = backend
        self.threshold = threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=reset_timeout
        )
        self._factory.add_listener(self._on_event)
        self._state = BreakerState.CLOSED
        self._opened_at: float | None = None
        self._failures = 0
        self._listeners: list[BreakerListener] = []

    def subscribe(self, listener: BreakerListener) -> None:
        """Call ``listener`` on every state change of this breaker."""
        self._listeners.append(listener)

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run the block through the breaker; CircuitOpen when it is open."""
        breaker = await self._factory.get_breaker(
            self.backend, exclude=[(BaseException, lambda exc: not counts_as_failure(exc))]
        )
        try:
            await breaker.__aenter__()
        except OpenedState:
            raise CircuitOpen(self.backend, retry_after=self._retry_after() or 1) from None
        try:
            yield
        except BaseException as exc:
            await breaker.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        await breaker.__aexit__(None, None, None)

    def snapshot(self) -> BreakerSnapshot:
        """The state now; an open breaker whose reset timeout has passed shows as half-open."""
        retry_after = self._retry_after()
        state = self._state
        if state is BreakerState.OPEN and not retry_after:
            state = BreakerState.HALF_OPEN
        return BreakerSnapshot(
            backend=self.backend,
            state=state,
            failures=self._failures,
            threshold=self.threshold,
            reset_timeout=self.reset_timeout,
            retry_after=retry_after if state is BreakerState.OPEN else None,
        )

    def _retry_after(self) -> int:
        """Whole seconds until an open breaker lets a probe through (0: it would now)."""
        if self._state is not BreakerState.OPEN or self._opened_at is None:
            return 0
        return max(0, math.ceil(self._opened_at + self.reset_timeout - self._clock()))

    def _on_event(self, name: str, kind: str, event: Event) -> None:
        if isinstance(event, CircuitBreakerFailed):
            self._failures = event.failure_count
        elif kind == "recovered":
            self._failures = 0
        elif isinstance(event, ContextChanged):
            self._state = _FROM_PURGATORY[event.state]
            self._opened_at = event.opened_at
            if self._state is BreakerState.CLOSED:
                self._failures = 0
            for listener in self._listeners:
                listener(self.backend, self._state)
