"""Routes of the historical-migration Process API."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Header, Path, Response, status
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.historical_migration import store
from ledgerbridge.apis.process.historical_migration.client import (
    MigrationBatch,
    MigrationRun,
    RunStatus,
    StartMigration,
)
from ledgerbridge.apis.process.historical_migration.runner import Runner
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.errors import Conflict, NotFound
from ledgerbridge.runtime.idempotency import install_idempotency
from ledgerbridge.runtime.paging import Cursor, Limit, Page, decode_cursor, encode_cursor

API = ApiMetadata(
    name="historical-migration",
    layer=Layer.PROCESS,
    version=1,
    owner="data-migration",
    summary="Starts and monitors batch migration runs, with checkpoints to resume from.",
    scopes=("historical-migration:write", "historical-migration:read"),
    calls=("crm-accounts", "erp-customers"),
)
RunId = Annotated[str, Path(min_length=36, max_length=36, description="The run.")]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Names this start; repeating it returns the run it started.",
    ),
]
RESUMABLE = (RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.RUNNING)


def _position(cursor: str | None, key: str) -> int:
    value = decode_cursor(cursor).get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "cursor"),
                    "msg": "not a cursor from this API",
                    "type": "value_error",
                }
            ]
        )
    return value


def create_app(deps: ProcessDeps) -> FastAPI:
    """Build the historical-migration API on the Process layer's dependencies."""
    router = APIRouter()
    runner = Runner(deps)

    async def load(run_id: str) -> MigrationRun:
        async with deps.store.engine.connect() as conn:
            run = await store.load_run(conn, run_id)
        if run is None:
            raise NotFound(f"no migration run {run_id}", backend="store", fields=["run_id"])
        return run

    @router.post("/runs", status_code=status.HTTP_201_CREATED)
    async def start(
        body: StartMigration, idempotency_key: IdempotencyKey, response: Response
    ) -> MigrationRun:
        """Start a run (201); the same Idempotency-Key returns the run it started (200)."""
        try:
            async with deps.store.engine.begin() as conn:
                existing = await store.load_run_by_key(conn, idempotency_key)
                run = existing or await store.open_run(conn, body, idempotency_key)
        except sa.exc.IntegrityError:  # a concurrent start under the same key won
            async with deps.store.engine.connect() as conn:
                existing = await store.load_run_by_key(conn, idempotency_key)
            assert existing is not None
        if existing is not None:
            response.status_code = status.HTTP_200_OK
            return existing
        runner.launch(run.run_id)
        return run

    @router.get("/runs")
    async def list_runs(limit: Limit = 50, cursor: Cursor = None) -> Page[MigrationRun]:
        """Runs newest first, with their progress."""
        offset = _position(cursor, "offset")
        async with deps.store.engine.connect() as conn:
            window = await store.list_runs(conn, offset=offset, limit=limit + 1)
        more = len(window) > limit
        return Page[MigrationRun](
            items=window[:limit],
            next_cursor=encode_cursor({"offset": offset + limit}) if more else None,
        )

    @router.get("/runs/{run_id}")
    async def get_run(run_id: RunId) -> MigrationRun:
        """A run's status, progress counters and checkpoint."""
        return await load(run_id)

    @router.get("/runs/{run_id}/batches")
    async def list_batches(
        run_id: RunId, limit: Limit = 50, cursor: Cursor = None
    ) -> Page[MigrationBatch]:
        """A run's committed batches in order, with the records each failed on."""
        await load(run_id)
        after = _position(cursor, "after")
        async with deps.store.engine.connect() as conn:
            window = await store.list_batches(conn, run_id, after=after, limit=limit + 1)
        more = len(window) > limit
        return Page[MigrationBatch](
            items=window[:limit],
            next_cursor=encode_cursor({"after": window[limit - 1].sequence}) if more else None,
        )

    @router.post("/runs/{run_id}/cancellation")
    async def cancel(run_id: RunId) -> MigrationRun:
        """Stop a run after the batch in hand; 409 once it completed or failed."""
        run = await load(run_id)
        if run.status is RunStatus.CANCELLED:
            return run
        async with deps.store.engine.begin() as conn:
            moved = await store.set_status(
                conn, run_id, expected=(RunStatus.RUNNING,), to=RunStatus.CANCELLED
            )
        if not moved:
            raise Conflict(f"migration run {run_id} is {run.status}", backend="store")
        return await load(run_id)

    @router.post("/runs/{run_id}/resumption")
    async def resume(run_id: RunId) -> MigrationRun:
        """Go on from the checkpoint with a cancelled or failed run, or with a running one
        whose process is gone; 409 when it completed or runs here already."""
        run = await load(run_id)
        if run.status not in RESUMABLE or runner.is_running_here(run_id):
            raise Conflict(f"migration run {run_id} is {run.status}", backend="store")
        async with deps.store.engine.begin() as conn:
            moved = await store.set_status(conn, run_id, expected=RESUMABLE, to=RunStatus.RUNNING)
        if not moved:
            raise Conflict(f"migration run {run_id} changed meanwhile", backend="store")
        runner.launch(run_id)
        return await load(run_id)

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    install_idempotency(app, engine=deps.store.engine, policy=deps.idempotency(required=False))
    return app
