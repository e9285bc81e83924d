"""Routes of the order-to-cash Process API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response, status

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash import (
    cancellation,
    decisions,
    kpis,
    reviews,
    service,
    store,
)
from ledgerbridge.apis.process.order_to_cash.client import (
    CRM_ID_PATTERN,
    CancelOrder,
    OrderCase,
    OrderToCashKpis,
    ReviewDecision,
    ReviewItem,
    StartOrderToCash,
)
from ledgerbridge.apis.process.order_to_cash.reviews import ReviewStatus
from ledgerbridge.apis.process.order_to_cash.states import CaseState
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.idempotency import install_idempotency
from ledgerbridge.runtime.paging import (
    Cursor,
    Limit,
    Page,
    offset_of,
    page_of,
)
from ledgerbridge.runtime.security.guard import OPERATE, require_scopes

API = ApiMetadata(
    name="order-to-cash",
    layer=Layer.PROCESS,
    version=1,
    owner="order-to-cash",
    summary="Takes an order won in the CRM to a paid, closed case, with a review queue.",
    scopes=("order-to-cash:write", "order-to-cash:read"),
    calls=(
        "crm-orders",
        "crm-accounts",
        "erp-customers",
        "erp-sales-orders",
        "erp-billing-documents",
        "credit-verification",
    ),
)
# Review decisions are the operators': order-to-cash:write alone does not make one.
OPERATOR = [Depends(require_scopes(OPERATE))]
ReviewId = Annotated[str, Path(min_length=36, max_length=36, description="The review item.")]


def create_app(deps: ProcessDeps) -> FastAPI:
    """Build the order-to-cash API on the Process layer's dependencies."""
    router = APIRouter()

    @router.post("/orders", status_code=status.HTTP_201_CREATED)
    async def start(body: StartOrderToCash, response: Response) -> OrderCase:
        """Run a CRM order through order-to-cash (201 new case, 200 when it already ran)."""
        case, created = await service.run(deps, body.crm_order_id)
        if not created:
            response.status_code = status.HTTP_200_OK
        return case

    @router.get("/orders")
    async def list_cases(
        limit: Limit = 50,
        cursor: Cursor = None,
        state: Annotated[CaseState | None, Query(description="Only cases in this state.")] = None,
    ) -> Page[OrderCase]:
        """Cases newest first, with their timelines, optionally in one state."""
        offset = offset_of(cursor)
        async with deps.store.engine.connect() as conn:
            window = await store.list_cases(
                conn, state=None if state is None else state.value, offset=offset, limit=limit + 1
            )
        return page_of(window, offset=offset, limit=limit)

    @router.get("/orders/{crm_order_id}")
    async def get_case(crm_order_id: str = Path(pattern=CRM_ID_PATTERN)) -> OrderCase:
        """The case of a CRM order, with its timeline and steps."""
        return await service.get_case(deps, crm_order_id)

    @router.post("/orders/{crm_order_id}/cancellation")
    async def cancel(
        body: CancelOrder, crm_order_id: str = Path(pattern=CRM_ID_PATTERN)
    ) -> OrderCase:
        """Cancel an order: an unpaid invoice is cancelled in the ERP first; 409 once paid."""
        return await cancellation.cancel(deps, crm_order_id, body)

    @router.get("/reviews")
    async def list_reviews(
        limit: Limit = 50,
        cursor: Cursor = None,
        status: Annotated[
            ReviewStatus | None, Query(description="Only items with this status.")
        ] = ReviewStatus.OPEN,
    ) -> Page[ReviewItem]:
        """The manual-review queue, oldest first: reason, figures and allowed actions."""
        offset = offset_of(cursor)
        async with deps.store.engine.connect() as conn:
            window = await reviews.list_reviews(
                conn,
                status=None if status is None else status.value,
                offset=offset,
                limit=limit + 1,
            )
        return page_of(window, offset=offset, limit=limit)

    @router.post("/reviews/{review_id}/approval", dependencies=OPERATOR)
    async def approve(review_id: ReviewId, body: ReviewDecision) -> ReviewItem:
        """Approve a credit referral; the case goes on once the ERP releases the block."""
        return await decisions.approve(deps, review_id, body)

    @router.post("/reviews/{review_id}/rejection", dependencies=OPERATOR)
    async def reject(review_id: ReviewId, body: ReviewDecision) -> ReviewItem:
        """Reject a queued case; it ends rejected and its effects are compensated."""
        return await decisions.reject(deps, review_id, body)

    @router.post("/reviews/{review_id}/retry", dependencies=OPERATOR)
    async def retry(review_id: ReviewId, body: ReviewDecision) -> ReviewItem:
        """Run a failed case again from the last state it reached."""
        return await decisions.retry(deps, review_id, body)

    @router.get("/kpis")
    async def get_kpis() -> OrderToCashKpis:
        """Cycle time, straight-through and manual-intervention rates, decision and
        resolution times, from the case timelines."""
        async with deps.store.engine.connect() as conn:
            return await kpis.compute(conn)

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    # The saga is idempotent by CRM order id already; a key also replays the first answer.
    install_idempotency(app, engine=deps.store.engine, policy=deps.idempotency(required=False))
    return app
