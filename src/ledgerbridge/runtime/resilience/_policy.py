"""The resilience policy of one backend: timeout, retries, circuit breaker and bulkhead.

Every call passes, from the outside in, through the breaker (fail fast when open), the
retries (only when the call is safe to repeat), the bulkhead (a slot per attempt, so
backoff waits hold none) and the per-attempt timeout. The breaker sees one outcome per
call, after its retries: a single lost attempt among many is not an outage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.resilience._bulkhead import Bulkhead
from ledgerbridge.runtime.resilience._circuit_breaker import CircuitBreaker
from ledgerbridge.runtime.resilience._retry import RetryPolicy
from ledgerbridge.runtime.settings import ResilienceSettings

T = TypeVar("T")
P = ParamSpec("P")


class BackendPolicy:
    """How ledgerbridge calls one backend; build one per backend in the composition root.

    policy = BackendPolicy.from_settings("s4hana", settings.s4hana.resilience)
    product = await policy.call(lambda: s4.get(*PRODUCTS, "MAT-1"), repeatable=True)
    number = await policy.call(lambda: s4.create(*SALES_ORDERS, payload))  # once only
    """

    def __init__(
        self,
        backend: str,
        *,
        call_timeout: float,
        retry: RetryPolicy,
        breaker: CircuitBreaker,
        bulkhead: Bulkhead,
    ) -> None:
        self.backend = backend
        self.call_timeout = call_timeout
        self.retry = retry
        self.breaker = breaker
        self.bulkhead = bulkhead

    @classmethod
    def from_settings(cls, backend: str, settings: ResilienceSettings) -> BackendPolicy:
        """The policy ``settings`` describe, for the backend named ``backend``."""
        return cls(
            backend,
            call_timeout=settings.call_timeout,
            retry=RetryPolicy(
                attempts=settings.retry_attempts,
                timeout=settings.retry_timeout,
                wait_initial=settings.retry_wait_initial,
                wait_max=settings.retry_wait_max,
                wait_jitter=settings.retry_wait_jitter,
            ),
            breaker=CircuitBreaker(
                backend,
                threshold=settings.breaker_threshold,
                reset_timeout=settings.breaker_reset_timeout,
            ),
            bulkhead=Bulkhead(
                backend,
                max_concurrency=settings.max_concurrency,
                max_queue_wait=settings.max_queue_wait,
            ),
        )

    async def call(self, operation: Callable[[], Awaitable[T]], *, repeatable: bool = False) -> T:
        """Make one backend call under the policy.

        Args:
            operation: Makes the call; invoked once per attempt.
            repeatable: The call is safe to repeat (a read, a keyed or idempotent write), so
                it is retried on BackendUnavailable. A plain create is not: it runs once.

        Returns:
            The call's result. Raises CircuitOpen when the breaker is open, BulkheadFull when
            no slot frees up, BackendUnavailable on timeout, or the call's own error.
        """
        async with self.breaker.guard():
            if repeatable:
                return await self.retry.run(lambda: self._attempt(operation))
            return await self._attempt(operation)

    def guarded(
        self, function: Callable[P, Awaitable[T]], *, repeatable: bool = False
    ) -> Callable[P, Awaitable[T]]:
        """``function`` with every call made through `call`; same signature.

        get = policy.guarded(s4.get, repeatable=True)
        entity = await get("API_PRODUCT_SRV", "A_Product", "MAT-1")
        """

        async def guarded_call(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.call(lambda: function(*args, **kwargs), repeatable=repeatable)

        return guarded_call

    async def repeat_keyed(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a keyed write again as a whole while it fails with BackendUnavailable.

        For writes that look their key up before creating ("find by external id, else
        create"): the create alone must not be repeated, since a lost answer may hide a
        record that was made, but the whole operation may, since the lookup finds that
        record. Each backend call inside ``operation`` still goes through `call`.
        """
        return await self.retry.run(operation)

    async def _attempt(self, operation: Callable[[], Awaitable[T]]) -> T:
        async with self.bulkhead.slot():
            try:
                async with asyncio.timeout(self.call_timeout):
                    return await operation()
            except TimeoutError:
                raise BackendUnavailable(
                    f"no answer within {self.call_timeout}s", backend=self.backend
                ) from None
