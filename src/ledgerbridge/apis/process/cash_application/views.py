"""Routes of the cash-application Process API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, FastAPI, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.process.cash_application import service, store
from ledgerbridge.apis.process.cash_application.client import (
    PAYMENT_REFERENCE_PATTERN,
    AssignInvoices,
    IncomingPayment,
    PaymentApplication,
    PaymentStatus,
    ReviewItem,
)
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.idempotency import install_idempotency
from ledgerbridge.runtime.paging import Cursor, Limit, Page, decode_cursor, encode_cursor

API = ApiMetadata(
    name="cash-application",
    layer=Layer.PROCESS,
    version=1,
    owner="order-to-cash",
    summary="Matches incoming payments to open invoices and clears them in the ERP, "
    "with a review queue for what cannot be matched.",
    scopes=("cash-application:write", "cash-application:read"),
    calls=("erp-receivables", "erp-billing-documents", "erp-customers"),
)
PaymentReference = Annotated[
    str, Path(pattern=PAYMENT_REFERENCE_PATTERN, examples=["BANK-20261130-0042"])
]
ReviewId = Annotated[
    str,
    Path(
        min_length=36,
        max_length=36,
        description="The review item.",
        examples=["6b0e7d4a-2f3c-4e8b-9d1a-5c7f0a2b3e64"],
    ),
]
PaymentBody = Annotated[
    IncomingPayment,
    Body(
        openapi_examples={
            "invoice": {
                "summary": "A transfer quoting the invoice it pays",
                "value": {
                    "payment_reference": "BANK-20261130-0042",
                    "customer_erp_id": "1000000",
                    "amount": {"amount": "238.00", "currency": "EUR"},
                    "payment_date": "2026-11-30",
                    "references": ["90000000"],
                },
            },
            "bare": {
                "summary": "A transfer quoting nothing; matched by amount",
                "value": {
                    "payment_reference": "BANK-20261130-0043",
                    "customer_erp_id": "1000000",
                    "amount": {"amount": "119.00", "currency": "EUR"},
                    "payment_date": "2026-11-30",
                },
            },
        }
    ),
]
AssignBody = Annotated[
    AssignInvoices,
    Body(
        openapi_examples={
            "assign": {
                "summary": "Apply the amount to two invoices, in this order",
                "value": {
                    "actor": "cash-desk@bank.example",
                    "invoice_erp_numbers": ["90000000", "90000001"],
                    "note": "remittance advice received by mail",
                },
            }
        }
    ),
]


def _window(cursor: str | None, limit: int) -> tuple[int, int]:
    """The offset a cursor stands for, and how many rows to read to know if more follow."""
    offset = decode_cursor(cursor).get("offset", 0)
    if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
        return offset, limit + 1
    raise RequestValidationError(
        [{"loc": ("query", "cursor"), "msg": "not a cursor from this API", "type": "value_error"}]
    )


def create_app(deps: ProcessDeps) -> FastAPI:
    """Build the cash-application API on the Process layer's dependencies."""
    router = APIRouter()

    @router.post("/payments", status_code=status.HTTP_201_CREATED)
    async def apply(body: PaymentBody, response: Response) -> PaymentApplication:
        """Match a payment to open invoices and clear them in the ERP (201); the same payment
        again changes nothing (200); other details under its reference are refused (409)."""
        application, created = await service.apply(deps, body)
        if not created:
            response.status_code = status.HTTP_200_OK
        return application

    @router.get("/payments")
    async def list_payments(
        limit: Limit = 50,
        cursor: Cursor = None,
        status: Annotated[
            PaymentStatus | None,
            Query(description="Only payments in this status.", examples=["in_review"]),
        ] = None,
    ) -> Page[PaymentApplication]:
        """Payments newest first, with their allocations."""
        offset, rows = _window(cursor, limit)
        async with deps.store.engine.connect() as conn:
            window = await store.list_payments(
                conn, status=None if status is None else status.value, offset=offset, limit=rows
            )
        return Page[PaymentApplication](
            items=window[:limit],
            next_cursor=encode_cursor({"offset": offset + limit}) if len(window) > limit else None,
        )

    @router.get("/payments/{payment_reference}")
    async def get_payment(payment_reference: PaymentReference) -> PaymentApplication:
        """A payment, its allocations to invoices and any open review item."""
        return await service.get_payment(deps, payment_reference)

    @router.get("/reviews")
    async def list_reviews(
        limit: Limit = 50,
        cursor: Cursor = None,
        status: Annotated[
            str | None,
            Query(pattern="^(open|resolved)$", description="open or resolved", examples=["open"]),
        ] = store.OPEN,
    ) -> Page[ReviewItem]:
        """The review queue, oldest first: the reason, the amount and the candidate invoices."""
        offset, rows = _window(cursor, limit)
        async with deps.store.engine.connect() as conn:
            window = await store.list_reviews(conn, status=status, offset=offset, limit=rows)
        return Page[ReviewItem](
            items=window[:limit],
            next_cursor=encode_cursor({"offset": offset + limit}) if len(window) > limit else None,
        )

    @router.get("/reviews/{review_id}")
    async def get_review(review_id: ReviewId) -> ReviewItem:
        """One review item."""
        return await service.get_review(deps, review_id)

    @router.post("/reviews/{review_id}/resolution")
    async def resolve(review_id: ReviewId, body: AssignBody) -> PaymentApplication:
        """Apply what a review item holds to the invoices a person chose; 409 once resolved."""
        return await service.resolve(deps, review_id, body)

    app = build_api(API, routers=[router], readiness=[deps.store.ping])
    install_idempotency(app, engine=deps.store.engine, policy=deps.idempotency(required=False))
    return app
