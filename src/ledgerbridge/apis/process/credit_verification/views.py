"""Routes of the credit-verification Process API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, status
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.process.credit_verification import service, store
from ledgerbridge.apis.process.credit_verification.client import (
    ERP_ID_PATTERN,
    CreditDecision,
    CreditDecisionRequest,
)
from ledgerbridge.apis.process.credit_verification.rules import CreditRules
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.errors import NotFound
from ledgerbridge.runtime.idempotency import install_idempotency
from ledgerbridge.runtime.paging import (
    Cursor,
    Limit,
    Page,
    decode_keyset_cursor,
    encode_keyset_cursor,
)

API = ApiMetadata(
    name="credit-verification",
    layer=Layer.PROCESS,
    version=1,
    owner="order-to-cash",
    summary="Approves, refers or rejects an order on the customer's credit, and keeps the record.",
    scopes=("credit-verification:write", "credit-verification:read"),
    calls=("erp-credit", "erp-receivables", "erp-sales-orders"),
)
DecisionId = Annotated[
    str,
    Path(
        min_length=36,
        max_length=36,
        description="The decision.",
        examples=["0b7c5a4e-2f1d-4c55-9a51-3d4f8e2b6c10"],
    ),
]
CustomerId = Annotated[
    str, Path(pattern=ERP_ID_PATTERN, description="The ERP customer.", examples=["1000000"])
]


def create_app(deps: ProcessDeps) -> FastAPI:
    """Build the credit-verification API on the Process layer's dependencies."""
    rules_file = deps.settings.credit_rules_file
    rules = CreditRules() if rules_file is None else CreditRules.from_file(rules_file)
    router = APIRouter()

    @router.post("/decisions", status_code=status.HTTP_201_CREATED)
    async def decide(body: CreditDecisionRequest) -> CreditDecision:
        """Decide on an order from the customer's limit, exposure and overdue items; recorded."""
        try:
            return await service.decide(deps, rules, body)
        except service.OrderNotOfCustomer as exc:
            problem = {
                "loc": ("body", "erp_order_number"),
                "msg": exc.message,
                "type": "value_error",
            }
            raise RequestValidationError([problem]) from exc

    @router.get("/decisions/{decision_id}")
    async def get_decision(decision_id: DecisionId) -> CreditDecision:
        """One recorded decision with its reasons and figures."""
        async with deps.store.engine.connect() as conn:
            decision = await store.get(conn, decision_id)
        if decision is None:
            raise NotFound(f"no credit decision {decision_id}", backend="store")
        return decision

    @router.get("/customers/{customer_erp_id}/decisions")
    async def list_decisions(
        customer_erp_id: CustomerId, limit: Limit = 50, cursor: Cursor = None
    ) -> Page[CreditDecision]:
        """A customer's recorded decisions, newest first."""
        async with deps.store.engine.connect() as conn:
            window = await store.of_customer(
                conn, customer_erp_id, before=decode_keyset_cursor(cursor), limit=limit + 1
            )
        page = window[:limit]
        last = page[-1] if len(window) > limit else None
        next_cursor = (
            None if last is None else encode_keyset_cursor(last.decided_at, last.decision_id)
        )
        return Page[CreditDecision](items=page, next_cursor=next_cursor)

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    install_idempotency(app, engine=deps.store.engine, policy=deps.idempotency(required=True))
    return app
