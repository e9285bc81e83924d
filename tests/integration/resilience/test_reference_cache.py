"""ReferenceCache over the ERP sandbox: products revalidated by ETag, stale during an outage."""

from __future__ import annotations

from tests.integration.resilience.conftest import Deployed
from tests.unit.resilience.fake_clock import FakeClock

from ledgerbridge.connectors.s4hana import ODataEntity
from ledgerbridge.runtime.resilience import (
    NOT_MODIFIED,
    BackendPolicy,
    Fetched,
    NotModified,
    ReferenceCache,
)
from ledgerbridge.runtime.settings import ResilienceSettings

PRODUCTS = ("API_PRODUCT_SRV", "A_Product")


async def test_products_revalidate_by_etag_and_ride_out_an_outage(deployed: Deployed) -> None:
    """A changed product is seen after the TTL; an unchanged one keeps its value; during an
    ERP outage the stale product is served within stale_if_error."""
    policy = BackendPolicy.from_settings("s4hana", ResilienceSettings(retry_attempts=2))
    clock = FakeClock()
    cache: ReferenceCache[str | None] = ReferenceCache(
        ttl=300, stale_if_error=3600, clock=clock.time
    )
    reads: list[ODataEntity] = []

    async def load(etag: str | None) -> Fetched[str | None] | NotModified:
        entity = await policy.call(lambda: deployed.erp.get(*PRODUCTS, "LB-100"), repeatable=True)
        reads.append(entity)
        if etag is not None and entity.etag == etag:
            return NOT_MODIFIED
        return Fetched(entity.properties.get("ProductGroup"), entity.etag)

    assert await cache.get("LB-100", load) is None
    clock.advance(301)
    assert await cache.get("LB-100", load) is None
    assert cache.stats.not_modified == 1
    await deployed.erp.update(*PRODUCTS, "LB-100", {"ProductGroup": "L001"}, etag=reads[-1].etag)
    assert await cache.get("LB-100", load) is None  # still fresh after the 304
    clock.advance(301)
    assert await cache.get("LB-100", load) == "L001"
    assert reads[-1].etag != reads[0].etag

    await deployed.faults({"route": "/sap/opu/odata/sap/*", "error_rates": {"503": 1}})
    clock.advance(1000)
    assert await cache.get("LB-100", load) == "L001"
    assert (cache.stats.stale_served, len(reads)) == (1, 3)
    assert await deployed.injected() == 2  # both attempts of the revalidation failed
