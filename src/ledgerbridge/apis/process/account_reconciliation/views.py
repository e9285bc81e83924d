"""Routes of the account-reconciliation Process API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, status
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.process.account_reconciliation import service, store
from ledgerbridge.apis.process.account_reconciliation.client import (
    Difference,
    DifferenceKind,
    ReconciliationRun,
    Resolution,
    StartReconciliation,
)
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.idempotency import install_idempotency
from ledgerbridge.runtime.paging import Cursor, Limit, Page, decode_cursor, encode_cursor

API = ApiMetadata(
    name="account-reconciliation",
    layer=Layer.PROCESS,
    version=1,
    owner="finance-operations",
    summary="Compares accounts, orders, invoices and payments between the CRM and the ERP.",
    scopes=("account-reconciliation:write", "account-reconciliation:read"),
    calls=(
        "crm-accounts",
        "crm-orders",
        "erp-customers",
        "erp-sales-orders",
        "erp-billing-documents",
        "erp-receivables",
    ),
)
RunId = Annotated[str, Path(min_length=36, max_length=36, description="The run.")]


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
    """Build the account-reconciliation API on the Process layer's dependencies."""
    router = APIRouter()

    @router.post("/runs", status_code=status.HTTP_201_CREATED)
    async def start(body: StartReconciliation) -> ReconciliationRun:
        """Reconcile the entities asked for, repair what is safe, and return the summary."""
        return await service.reconcile(deps, body)

    @router.get("/runs")
    async def list_runs(limit: Limit = 50, cursor: Cursor = None) -> Page[ReconciliationRun]:
        """Runs newest first, with their summaries."""
        offset = _position(cursor, "offset")
        async with deps.store.engine.connect() as conn:
            window = await store.list_runs(conn, offset=offset, limit=limit + 1)
        more = len(window) > limit
        return Page[ReconciliationRun](
            items=window[:limit],
            next_cursor=encode_cursor({"offset": offset + limit}) if more else None,
        )

    @router.get("/runs/{run_id}")
    async def get_run(run_id: RunId) -> ReconciliationRun:
        """A run with its summary: compared, matched, explained, repaired and queued."""
        return await service.get_run(deps, run_id)

    @router.get("/runs/{run_id}/differences")
    async def list_differences(
        run_id: RunId,
        limit: Limit = 50,
        cursor: Cursor = None,
        kind: Annotated[DifferenceKind | None, Query(description="Only this kind.")] = None,
        resolution: Annotated[
            Resolution | None, Query(description="Only repaired, or only queued.")
        ] = None,
    ) -> Page[Difference]:
        """A run's differences in the order found, each with its class and evidence."""
        await service.get_run(deps, run_id)
        after = _position(cursor, "after")
        async with deps.store.engine.connect() as conn:
            window = await store.list_differences(
                conn, run_id, after=after, limit=limit + 1, kind=kind, resolution=resolution
            )
        more = len(window) > limit
        return Page[Difference](
            items=window[:limit],
            next_cursor=encode_cursor({"after": window[limit - 1].difference_id}) if more else None,
        )

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    install_idempotency(app, engine=deps.store.engine, policy=deps.idempotency(required=False))
    return app
