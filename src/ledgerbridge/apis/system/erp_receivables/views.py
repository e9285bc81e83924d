"""Routes of the erp-receivables System API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Path, Query, Response, status

from ledgerbridge.apis.system._erp.port import ErpReceivables
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.ids import SAP_DOCUMENT_NUMBER
from ledgerbridge.canonical import Payment, ReceivableItem
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Cursor, Limit, Page, offset_of, page_of

API = ApiMetadata(
    name="erp-receivables",
    layer=Layer.SYSTEM,
    version=1,
    owner="erp-integration",
    summary="Receivables (open and cleared customer items) and incoming payments in the ERP.",
    scopes=("erp-receivables:read", "erp-receivables:write"),
)

RECEIVABLE_EXAMPLE: dict[str, Any] = {
    "company_code": "1010",
    "fiscal_year": "2026",
    "accounting_document": "90000000",
    "item": "1",
    "customer_erp_id": "1000000",
    "invoice_erp_number": "90000000",
    "reference": "PO-4711",
    "document_date": "2026-11-24",
    "due_date": "2026-12-24",
    "amount": {"amount": "240.00", "currency": "EUR"},
    "cleared": False,
    "clearing_date": None,
    "clearing_document": None,
}
PAYMENT_EXAMPLE: dict[str, Any] = {
    "erp_document": "1400000000",
    "company_code": "1010",
    "fiscal_year": "2026",
    "customer_erp_id": "1000000",
    "payment_date": "2026-11-30",
    "amount": {"amount": "240.00", "currency": "EUR"},
    "reference": "BANK-2026-11-30-0042",
    "invoice_erp_numbers": ["90000000"],
}
_PAYMENT_BODY: dict[str, Any] = {
    "payment": {
        "summary": "A bank transfer paying one invoice",
        "value": {
            "customer_erp_id": "1000000",
            "payment_date": "2026-11-30",
            "amount": {"amount": "240.00", "currency": "EUR"},
            "reference": "BANK-2026-11-30-0042",
            "invoice_erp_numbers": ["90000000"],
        },
    }
}


def _example(value: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"example": value}}}


PaymentBody = Annotated[Payment, Body(openapi_examples=_PAYMENT_BODY)]
CustomerFilter = Annotated[str | None, Query(pattern=SAP_DOCUMENT_NUMBER, examples=["1000000"])]
Code = Annotated[
    str, Path(pattern=r"^[0-9A-Za-z]{1,4}$", description="The company code.", examples=["1010"])
]
Year = Annotated[str, Path(pattern=r"^\d{4}$", description="The fiscal year.", examples=["2026"])]
Document = Annotated[
    str,
    Path(
        pattern=SAP_DOCUMENT_NUMBER,
        description="The payment's accounting document.",
        examples=["1400000000"],
    ),
]


def create_app(backends: SystemBackends) -> list[FastAPI]:
    """Build the erp-receivables API, where the ERP behind the port keeps receivables."""
    erp = backends.erp
    if not isinstance(erp, ErpReceivables):
        return []
    return [build_api(API, routers=[_router(erp)])]


def _router(erp: ErpReceivables) -> APIRouter:
    router = APIRouter()

    @router.get("/receivables", responses={200: _example({"items": [RECEIVABLE_EXAMPLE]})})
    async def list_receivables(
        limit: Limit = 50,
        cursor: Cursor = None,
        customer_erp_id: CustomerFilter = None,
        invoice_erp_number: Annotated[
            str | None,
            Query(
                description="Items of this invoice: its own and those paying it.",
                examples=["90000000"],
            ),
        ] = None,
        cleared: Annotated[
            bool | None, Query(description="Only cleared (or open) items.", examples=[False])
        ] = None,
    ) -> Page[ReceivableItem]:
        """Customer line items in accounts receivable, filtered and paged; credits are negative."""
        offset = offset_of(cursor)
        window = await erp.list_receivables(
            customer_erp_id=customer_erp_id,
            invoice_erp_number=invoice_erp_number,
            cleared=cleared,
            offset=offset,
            limit=limit + 1,
        )
        return page_of(window, offset=offset, limit=limit)

    @router.get("/payments", responses={200: _example({"items": [PAYMENT_EXAMPLE]})})
    async def list_payments(
        limit: Limit = 50,
        cursor: Cursor = None,
        customer_erp_id: CustomerFilter = None,
        reference: Annotated[
            str | None, Query(min_length=1, max_length=30, examples=["BANK-2026-11-30-0042"])
        ] = None,
    ) -> Page[Payment]:
        """Incoming payments with the invoices each one paid, filtered and paged."""
        offset = offset_of(cursor)
        window = await erp.list_payments(
            customer_erp_id=customer_erp_id, reference=reference, offset=offset, limit=limit + 1
        )
        return page_of(window, offset=offset, limit=limit)

    @router.get(
        "/payments/{company_code}/{fiscal_year}/{document}",
        responses={200: _example(PAYMENT_EXAMPLE)},
    )
    async def get_payment(company_code: Code, fiscal_year: Year, document: Document) -> Payment:
        """One incoming payment, with the invoices it paid."""
        return await erp.get_payment(company_code, fiscal_year, document)

    @router.post(
        "/payments",
        status_code=status.HTTP_201_CREATED,
        responses={
            201: _example(PAYMENT_EXAMPLE),
            200: {"description": "A payment with this reference was posted before."},
        },
    )
    async def post_payment(payment: PaymentBody, response: Response) -> Payment:
        """Post an incoming payment (201); its customer and reference are its key (200 on repeat).

        It pays the one invoice named, or the customer's oldest open invoices; in full, they
        are cleared, in part, the rest stays open. Paying more than is open is refused (422).
        """
        posted, created = await erp.post_payment(payment)
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        response.headers["Location"] = (
            f"{API.base_path}/payments/{posted.company_code}/{posted.fiscal_year}/"
            f"{posted.erp_document}"
        )
        return posted

    return router
