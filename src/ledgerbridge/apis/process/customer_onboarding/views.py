"""Routes of the customer-onboarding Process API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Response, status

from ledgerbridge.apis.process.customer_onboarding import conflicts, service, store
from ledgerbridge.apis.process.customer_onboarding.client import (
    CRM_ID_PATTERN,
    CustomerSync,
    OnboardCustomer,
    OnboardedCustomer,
    ResolveConflict,
    SyncConflict,
)
from ledgerbridge.apis.process.deps import ProcessDeps
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
    name="customer-onboarding",
    layer=Layer.PROCESS,
    version=1,
    owner="customer-onboarding",
    summary="Makes CRM accounts ERP customers and keeps the fields they share in sync both "
    "ways under a per-field system of record, queueing conflicts for a person.",
    scopes=("customer-onboarding:write", "customer-onboarding:read"),
    calls=("crm-accounts", "erp-customers"),
)
ConflictId = Annotated[str, Path(min_length=36, max_length=36, description="The conflict.")]
CrmId = Annotated[str, Path(pattern=CRM_ID_PATTERN, description="The CRM account id.")]


def create_app(deps: ProcessDeps) -> FastAPI:
    """Build the customer-onboarding API on the Process layer's dependencies."""
    router = APIRouter()

    @router.post("/customers", status_code=status.HTTP_201_CREATED)
    async def onboard(body: OnboardCustomer, response: Response) -> OnboardedCustomer:
        """Make a CRM account an ERP customer (201), or return it when it is one (200)."""
        customer, created = await service.onboard(deps, body.crm_account_id)
        if not created:
            response.status_code = status.HTTP_200_OK
        return customer

    @router.post("/customers/{crm_id}/sync")
    async def sync(crm_id: CrmId) -> CustomerSync:
        """Sync one onboarded customer both ways; conflicts go to the queue."""
        return await service.sync(deps, crm_id)

    @router.get("/conflicts")
    async def list_conflicts(
        limit: Limit = 50,
        cursor: Cursor = None,
        status: Annotated[
            str | None, Query(pattern="^(open|resolved)$", description="open or resolved")
        ] = store.OPEN,
    ) -> Page[SyncConflict]:
        """The conflict queue, oldest first."""
        offset = offset_of(cursor)
        async with deps.store.engine.connect() as conn:
            window = await store.list_conflicts(conn, status=status, offset=offset, limit=limit + 1)
        more = len(window) > limit
        return Page[SyncConflict](
            items=window[:limit],
            next_cursor=encode_cursor({"offset": offset + limit}) if more else None,
        )

    @router.post("/conflicts/{conflict_id}/resolution")
    async def resolve(conflict_id: ConflictId, body: ResolveConflict) -> SyncConflict:
        """Settle a conflict: the chosen side's value is written to the other side."""
        return await conflicts.resolve(deps, conflict_id, body)

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    # Onboarding is idempotent by CRM account already; a key also replays the first answer.
    install_idempotency(app, engine=deps.store.engine, policy=deps.idempotency(required=False))
    return app
