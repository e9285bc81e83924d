"""Routes of the product-and-pricing-sync Process API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, status

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.product_pricing_sync import service, store
from ledgerbridge.apis.process.product_pricing_sync.client import StartSyncRun, SyncRun
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.idempotency import install_idempotency
from ledgerbridge.runtime.paging import (
    Cursor,
    Limit,
    Page,
    encode_cursor,
    offset_of,
)

API = ApiMetadata(
    name="product-and-pricing-sync",
    layer=Layer.PROCESS,
    version=1,
    owner="product-and-pricing-sync",
    summary="Keeps the CRM's products and standard prices in step with the ERP, on demand "
    "and on a schedule, writing only what changed.",
    scopes=("product-and-pricing-sync:write", "product-and-pricing-sync:read"),
    calls=("erp-products", "erp-pricing", "crm-products", "crm-price-books"),
)
RunId = Annotated[str, Path(min_length=36, max_length=36, description="The sync run.")]


def create_app(deps: ProcessDeps) -> FastAPI:
    """Build the product-and-pricing-sync API on the Process layer's dependencies."""
    router = APIRouter()

    @router.post("/runs", status_code=status.HTTP_201_CREATED)
    async def start_run(body: StartSyncRun) -> SyncRun:
        """Run the sync now and answer with the finished run (409 while another runs)."""
        return await service.run_sync(deps, trigger=service.ON_DEMAND, batch_size=body.batch_size)

    @router.get("/runs")
    async def list_runs(limit: Limit = 50, cursor: Cursor = None) -> Page[SyncRun]:
        """Sync runs, newest first, with their counts and failures."""
        offset = offset_of(cursor)
        async with deps.store.engine.connect() as conn:
            window = await store.list_runs(conn, offset=offset, limit=limit + 1)
        more = len(window) > limit
        return Page[SyncRun](
            items=window[:limit],
            next_cursor=encode_cursor({"offset": offset + limit}) if more else None,
        )

    @router.get("/runs/{run_id}")
    async def get_run(run_id: RunId) -> SyncRun:
        """One sync run."""
        return await service.get_run(deps, run_id)

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    # A key replays the first answer instead of starting a second run.
    install_idempotency(app, engine=deps.store.engine, policy=deps.idempotency(required=False))
    return app
