"""Routes of the billing Process API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, FastAPI, Path, status

from ledgerbridge.apis.process.billing import service, store
from ledgerbridge.apis.process.billing.client import (
    INVOICE_NUMBER_PATTERN,
    BillingRun,
    InvoiceBilling,
    StartBillingRun,
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
    name="billing",
    layer=Layer.PROCESS,
    version=1,
    owner="order-to-cash",
    summary="Brings ERP invoices onto the CRM orders they bill: number, amount, due date, status.",
    scopes=("billing:write", "billing:read"),
    calls=("erp-billing-documents", "erp-receivables", "crm-orders"),
)
RunBody = Annotated[
    StartBillingRun | None,
    Body(
        openapi_examples={
            "checkpoint": {"summary": "Invoices changed since the last run", "value": {}},
            "one": {"summary": "One invoice", "value": {"invoice_erp_number": "90000000"}},
            "since": {
                "summary": "Invoices changed since a time",
                "value": {"changed_since": "2026-11-24T00:00:00Z"},
            },
        }
    ),
]


def create_app(deps: ProcessDeps) -> FastAPI:
    """Build the billing API on the Process layer's dependencies."""
    router = APIRouter()

    @router.post("/runs", status_code=status.HTTP_201_CREATED)
    async def start_run(body: RunBody = None) -> BillingRun:
        """Bring one invoice, or the invoices changed since a time or the last run, onto
        their CRM orders; what an order already shows is not written again."""
        return await service.run(deps, body or StartBillingRun())

    @router.get("/runs")
    async def list_runs(limit: Limit = 50, cursor: Cursor = None) -> Page[BillingRun]:
        """Billing runs, newest first, with what came of each invoice."""
        offset = offset_of(cursor)
        async with deps.store.engine.connect() as conn:
            window = await store.list_runs(conn, offset=offset, limit=limit + 1)
        more = len(window) > limit
        return Page[BillingRun](
            items=window[:limit],
            next_cursor=encode_cursor({"offset": offset + limit}) if more else None,
        )

    @router.get("/runs/{run_id}")
    async def get_run(
        run_id: Annotated[
            str,
            Path(
                min_length=36,
                max_length=36,
                description="The run.",
                examples=["3f1c2a9e-4b7d-4c1e-9a55-0d2f6c8b7e41"],
            ),
        ],
    ) -> BillingRun:
        """One billing run with what came of each invoice."""
        return await service.get_run(deps, run_id)

    @router.get("/invoices/{invoice_erp_number}")
    async def get_invoice(
        invoice_erp_number: Annotated[
            str, Path(pattern=INVOICE_NUMBER_PATTERN, examples=["90000000"])
        ],
    ) -> InvoiceBilling:
        """What billing last brought over for an invoice: its CRM order and fields."""
        return await service.get_invoice(deps, invoice_erp_number)

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    install_idempotency(app, engine=deps.store.engine, policy=deps.idempotency(required=False))
    return app
