"""Published contract of the product-and-pricing-sync Process API: its models and typed client."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page

DEFAULT_BATCH_SIZE = 100


class StartSyncRun(BaseModel):
    """Ask for one sync run now."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(
        default=DEFAULT_BATCH_SIZE,
        ge=1,
        le=200,
        description="ERP records read per page; each page is compared and written before the next.",
    )


class SyncCounts(BaseModel):
    """What a run did with the records of one kind."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


class SyncFailure(BaseModel):
    """One record a run could not write, and why."""

    kind: str = Field(description="product or price")
    key: str = Field(description="The SKU of a product; SKU/currency of a price.")
    reason: str


class SyncRun(BaseModel):
    """One run of the sync: when, how it was started, and what it wrote.

    ``status`` is running, completed (every record in step), completed_with_failures (some
    records could not be written, see ``failures``) or failed (the run stopped, see ``error``).
    """

    run_id: str
    trigger: str = Field(description="on_demand (POST /runs) or schedule (the interval worker)")
    status: str
    started_at: datetime
    finished_at: datetime | None
    products: SyncCounts
    prices: SyncCounts
    failures: list[SyncFailure]
    error: str | None


class ProductPricingSyncClient(ApiClient):
    """Runs the ERP-to-CRM product and price sync and reports its runs."""

    base_path = "/process/product-and-pricing-sync/v1"

    async def run(self, request: StartSyncRun | None = None) -> SyncRun:
        """Run the sync now and return the finished run."""
        body = (request or StartSyncRun()).model_dump()
        return await self._call("POST", "/runs", SyncRun, json=body)

    async def get_run(self, run_id: str) -> SyncRun:
        """One run by its id."""
        return await self._call("GET", f"/runs/{quote(run_id)}", SyncRun)

    async def list_runs(self, *, limit: int = 50, cursor: str | None = None) -> Page[SyncRun]:
        """One page of runs, newest first."""
        return await self._page("/runs", SyncRun, filters={}, limit=limit, cursor=cursor)
