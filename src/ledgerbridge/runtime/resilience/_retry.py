"""Retries with exponential backoff and jitter, through stamina, only on BackendUnavailable.

A call is retried only when its caller says it is safe to repeat (a read, a keyed or
idempotent write). A pause is never retried (an open breaker, a backend's rate limit): it
said "not now", and hammering it would only delay the caller's 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import stamina

from ledgerbridge.runtime.errors import BackendPaused, BackendUnavailable

T = TypeVar("T")


def is_retryable(exc: Exception) -> bool:
    """Whether a failed attempt may be tried again: the backend was unavailable, not paused."""
    return isinstance(exc, BackendUnavailable) and not isinstance(exc, BackendPaused)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to try again (seconds; the wait doubles each attempt).

    retry = RetryPolicy(attempts=4, timeout=30.0)
    record = await retry.run(lambda: s4.get("API_PRODUCT_SRV", "A_Product", "MAT-1"))
    """

    attempts: int = 4
    timeout: float = 30.0
    wait_initial: float = 0.1
    wait_max: float = 2.0
    wait_jitter: float = 0.5

    async def run(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Await ``operation()``, again after a backoff each time it raises BackendUnavailable.

        Args:
            operation: Makes a fresh awaitable per attempt.

        Returns:
            The first successful result; the last failure is raised when attempts or time
            run out.
        """
        async for attempt in stamina.retry_context(
            on=is_retryable,
            attempts=self.attempts,
            timeout=self.timeout,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_jitter,
        ):
            with attempt:
                return await operation()
        raise AssertionError("unreachable: stamina returns or raises on the last attempt")


def set_testing(testing: bool) -> None:
    """Turn test mode on or off: no backoff waits, each policy keeps its number of attempts.

    Tests call this (an autouse fixture) so that retries never sleep.
    """
    # cap=True with a generous ceiling keeps every policy's own attempt count.
    stamina.set_testing(testing, attempts=1_000, cap=True)
