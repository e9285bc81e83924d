"""A cache of reference data (products, prices) with revalidation.

An entry is served as is for ``ttl`` seconds. After that, the next read revalidates it: the
loader is handed the entry's ETag and may answer `NOT_MODIFIED` (say, on an HTTP 304 to an
If-None-Match), which keeps the value for another ``ttl``, or a fresh value. When the backend
is unavailable during a revalidation, a stale entry is served for up to ``stale_if_error``
more seconds (RFC 5861's stale-if-error) rather than failing the caller. Concurrent reads of
one key share one load.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.keyed_lock import KeyedLock

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """A value as the backend sent it, with its ETag when the backend gives one."""

    value: T
    etag: str | None = None


class NotModified:
    """The loader's answer when the backend confirms the cached ETag still holds."""

    def __repr__(self) -> str:
        return "NOT_MODIFIED"


NOT_MODIFIED: Final = NotModified()

Loader = Callable[[str | None], Awaitable[Fetched[T] | NotModified]]
"""Loads one key; given the cached ETag (None on a miss) it may answer NOT_MODIFIED."""


@dataclass(slots=True)
class CacheStats:
    """What the cache did: reads served fresh, loads, revalidations and their outcomes."""

    hits: int = 0
    misses: int = 0
    revalidations: int = 0
    not_modified: int = 0
    stale_served: int = 0


@dataclass(slots=True)
class _Entry(Generic[T]):
    value: T
    etag: str | None
    checked_at: float


@dataclass(slots=True)
class ReferenceCache(Generic[T]):
    """Reference data by key, fresh for ``ttl`` seconds, then revalidated.

    products: ReferenceCache[Product] = ReferenceCache(ttl=300.0, stale_if_error=3600.0)

    async def load(etag: str | None) -> Fetched[Product] | NotModified:
        entity = await s4.get("API_PRODUCT_SRV", "A_Product", "MAT-1")
        if etag is not None and entity.etag == etag:
            return NOT_MODIFIED
        return Fetched(to_product(entity), entity.etag)

    product = await products.get("MAT-1", load)
    """

    ttl: float
    stale_if_error: float = 0.0
    max_entries: int = 10_000
    clock: Callable[[], float] = time.monotonic
    stats: CacheStats = field(default_factory=CacheStats, init=False)
    _entries: OrderedDict[str, _Entry[T]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _loading: KeyedLock = field(default_factory=KeyedLock, init=False, repr=False)

    async def get(self, key: str, load: Loader[T]) -> T:
        """The value of ``key``: from the cache while fresh, else from ``load``.

        Args:
            key: What the value is known by (a product number, a price key).
            load: Fetches the value; called only on a miss or when the entry is stale.

        Returns:
            The value. A loader's error is raised, except BackendUnavailable while a stale
            entry is still within ``stale_if_error``.
        """
        fresh = self._fresh(key)
        if fresh is not None:
            self.stats.hits += 1
            return fresh.value
        async with self._loading.hold(key):
            # Another reader may have loaded it while this one waited for the key.
            fresh = self._fresh(key)
            if fresh is not None:
                self.stats.hits += 1
                return fresh.value
            return await self._load(key, load)

    def invalidate(self, key: str | None = None) -> None:
        """Forget ``key`` (every key when None), so the next read loads afresh."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    def _fresh(self, key: str) -> _Entry[T] | None:
        entry = self._entries.get(key)
        if entry is None or self.clock() - entry.checked_at >= self.ttl:
            return None
        self._entries.move_to_end(key)
        return entry

    async def _load(self, key: str, load: Loader[T]) -> T:
        stale = self._entries.get(key)
        if stale is None:
            self.stats.misses += 1
        else:
            self.stats.revalidations += 1
        try:
            answer = await load(None if stale is None else stale.etag)
        except BackendUnavailable:
            if stale is None or self.clock() - stale.checked_at >= self.ttl + self.stale_if_error:
                raise
            self.stats.stale_served += 1
            return stale.value
        now = self.clock()
        if isinstance(answer, NotModified):
            if stale is None:
                raise TypeError(f"loader of {key!r} answered NOT_MODIFIED to a load without ETag")
            self.stats.not_modified += 1
            stale.checked_at = now
            self._entries.move_to_end(key)
            return stale.value
        self._entries[key] = _Entry(answer.value, answer.etag, now)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return answer.value
