"""ReferenceCache: fresh for a TTL, then revalidated with the ETag; stale on outage."""

from __future__ import annotations

import asyncio

import pytest
from tests.unit.resilience.fake_clock import FakeClock

from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.resilience import (
    NOT_MODIFIED,
    Fetched,
    Loader,
    NotModified,
    ReferenceCache,
)


class PriceBackend:
    """A backend of prices that honours If-None-Match, can change a price, and can go down."""

    def __init__(self) -> None:
        self.prices = {"MAT-1": "10.00"}
        self.versions = {"MAT-1": 1}
        self.down = False
        self.asked_with: list[str | None] = []

    def change(self, key: str, price: str) -> None:
        self.prices[key] = price
        self.versions[key] += 1

    def loader(self, key: str) -> Loader[str]:
        async def load(etag: str | None) -> Fetched[str] | NotModified:
            self.asked_with.append(etag)
            await asyncio.sleep(0)
            if self.down:
                raise BackendUnavailable("HTTP 503", backend="erp")
            current = f'W/"{self.versions[key]}"'
            if etag == current:
                return NOT_MODIFIED
            return Fetched(self.prices[key], current)

        return load


async def test_fresh_entries_are_served_without_asking() -> None:
    """Within the TTL a second read does not reach the backend."""
    clock, backend = FakeClock(), PriceBackend()
    cache: ReferenceCache[str] = ReferenceCache(ttl=60, clock=clock.time)
    assert await cache.get("MAT-1", backend.loader("MAT-1")) == "10.00"
    clock.advance(59)
    assert await cache.get("MAT-1", backend.loader("MAT-1")) == "10.00"
    assert backend.asked_with == [None]
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)


async def test_stale_entries_revalidate_with_their_etag() -> None:
    """After the TTL the loader gets the ETag; 304 keeps the value, a change replaces it."""
    clock, backend = FakeClock(), PriceBackend()
    cache: ReferenceCache[str] = ReferenceCache(ttl=60, clock=clock.time)
    await cache.get("MAT-1", backend.loader("MAT-1"))
    clock.advance(60)
    assert await cache.get("MAT-1", backend.loader("MAT-1")) == "10.00"
    backend.change("MAT-1", "12.50")
    clock.advance(30)  # fresh again after the 304: the change is not seen yet
    assert await cache.get("MAT-1", backend.loader("MAT-1")) == "10.00"
    clock.advance(30)
    assert await cache.get("MAT-1", backend.loader("MAT-1")) == "12.50"
    assert backend.asked_with == [None, 'W/"1"', 'W/"1"']
    assert (cache.stats.revalidations, cache.stats.not_modified) == (2, 1)


async def test_stale_is_served_during_an_outage_within_its_window() -> None:
    """BackendUnavailable on revalidation serves the stale value until stale_if_error ends."""
    clock, backend = FakeClock(), PriceBackend()
    cache: ReferenceCache[str] = ReferenceCache(ttl=60, stale_if_error=600, clock=clock.time)
    await cache.get("MAT-1", backend.loader("MAT-1"))
    backend.down = True
    clock.advance(600)
    assert await cache.get("MAT-1", backend.loader("MAT-1")) == "10.00"
    assert cache.stats.stale_served == 1
    clock.advance(60)
    with pytest.raises(BackendUnavailable):
        await cache.get("MAT-1", backend.loader("MAT-1"))


async def test_a_miss_during_an_outage_fails() -> None:
    """With nothing cached, the backend's unavailability reaches the caller."""
    backend = PriceBackend()
    backend.down = True
    cache: ReferenceCache[str] = ReferenceCache(ttl=60, stale_if_error=600)
    with pytest.raises(BackendUnavailable):
        await cache.get("MAT-1", backend.loader("MAT-1"))


async def test_concurrent_misses_share_one_load() -> None:
    """Ten readers of a cold key cause a single backend call."""
    backend = PriceBackend()
    cache: ReferenceCache[str] = ReferenceCache(ttl=60)
    values = await asyncio.gather(*(cache.get("MAT-1", backend.loader("MAT-1")) for _ in range(10)))
    assert values == ["10.00"] * 10
    assert backend.asked_with == [None]


async def test_least_recently_used_entries_are_evicted() -> None:
    """Past max_entries the entry read longest ago goes first."""
    backend = PriceBackend()
    backend.prices.update({"MAT-2": "2.00", "MAT-3": "3.00"})
    backend.versions.update({"MAT-2": 1, "MAT-3": 1})
    cache: ReferenceCache[str] = ReferenceCache(ttl=60, max_entries=2)
    for key in ("MAT-1", "MAT-2", "MAT-1", "MAT-3"):
        await cache.get(key, backend.loader(key))
    backend.asked_with.clear()
    await cache.get("MAT-1", backend.loader("MAT-1"))
    await cache.get("MAT-2", backend.loader("MAT-2"))
    assert backend.asked_with == [None]  # MAT-1 stayed, MAT-2 was evicted


async def test_invalidate_forgets_entries() -> None:
    """An invalidated key is loaded afresh, without an ETag."""
    backend = PriceBackend()
    cache: ReferenceCache[str] = ReferenceCache(ttl=60)
    await cache.get("MAT-1", backend.loader("MAT-1"))
    cache.invalidate("MAT-1")
    await cache.get("MAT-1", backend.loader("MAT-1"))
    cache.invalidate()
    await cache.get("MAT-1", backend.loader("MAT-1"))
    assert backend.asked_with == [None, None, None]
