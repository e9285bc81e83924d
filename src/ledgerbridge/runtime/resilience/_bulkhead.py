"""A bulkhead: at most N calls in flight to one backend, so a slow backend cannot take every
worker of the house with it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from ledgerbridge.runtime.resilience._errors import BulkheadFull


class Bulkhead:
    """A concurrency limit with a bounded wait for a free slot.

    bulkhead = Bulkhead("s4hana", max_concurrency=20, max_queue_wait=5.0)
    async with bulkhead.slot():
        await s4.get(...)
    """

    def __init__(self, backend: str, *, max_concurrency: int, max_queue_wait: float) -> None:
        self.backend = backend
        self.max_concurrency = max_concurrency
        self.max_queue_wait = max_queue_wait
        self._slots = asyncio.Semaphore(max_concurrency)
        self.in_flight = 0
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block; BulkheadFull when none frees up in time."""
        self.waiting += 1
        try:
            async with asyncio.timeout(self.max_queue_wait):
                await self._slots.acquire()
        except TimeoutError:
            raise BulkheadFull(
                f"{self.max_concurrency} calls in flight; no slot within {self.max_queue_wait}s",
                backend=self.backend,
            ) from None
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self._slots.release()
