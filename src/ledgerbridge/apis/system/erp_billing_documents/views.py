"""Routes of the erp-billing-documents System API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Response, status

from ledgerbridge.apis.system._erp.edge import tag
from ledgerbridge.apis.system._erp.port import ErpBilling
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.ids import SAP_DOCUMENT_NUMBER
from ledgerbridge.canonical import Invoice, InvoiceStatus, UtcDatetime
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Cursor, Limit, Page, offset_of, page_of

API = ApiMetadata(
    name="erp-billing-documents",
    layer=Layer.SYSTEM,
    version=1,
    owner="erp-integration",
    summary="Invoices (billing documents) the ERP's billing run created, in canonical form.",
    scopes=("erp-billing-documents:read", "erp-billing-documents:write"),
)

EXAMPLE: dict[str, Any] = {
    "erp_number": "90000000",
    "customer_erp_id": "1000000",
    "order_erp_number": "1",
    "po_number": "PO-4711",
    "company_code": "1010",
    "fiscal_year": "2026",
    "accounting_document": "90000000",
    "invoice_date": "2026-11-24",
    "currency": "EUR",
    "status": "open",
    "lines": [
        {
            "item_number": "10",
            "product_sku": "CUSTODY-BASIC",
            "description": "Custody account, basic",
            "quantity": "2",
            "unit": "EA",
            "net_amount": {"amount": "240.00", "currency": "EUR"},
            "tax_amount": {"amount": "0.00", "currency": "EUR"},
            "order_erp_number": "1",
            "order_item_number": "10",
        }
    ],
    "net_total": {"amount": "240.00", "currency": "EUR"},
    "tax_total": {"amount": "0.00", "currency": "EUR"},
    "gross_total": {"amount": "240.00", "currency": "EUR"},
}
_ETAG_HEADER = {"ETag": {"description": "The version read.", "schema": {"type": "string"}}}
_ONE = {"content": {"application/json": {"example": EXAMPLE}}}
_PAGE = {"content": {"application/json": {"example": {"items": [EXAMPLE]}}}}
_CANCELLED = {"content": {"application/json": {"example": EXAMPLE | {"status": "cancelled"}}}}

NumberPath = Annotated[
    str,
    Path(
        pattern=SAP_DOCUMENT_NUMBER,
        description="The billing document number.",
        examples=["90000000"],
    ),
]


def create_app(backends: SystemBackends) -> list[FastAPI]:
    """Build the erp-billing-documents API, where the ERP behind the port bills."""
    erp = backends.erp
    if not isinstance(erp, ErpBilling):
        return []
    return [build_api(API, routers=[_router(erp)])]


def _router(erp: ErpBilling) -> APIRouter:
    router = APIRouter()

    @router.get("/invoices", responses={200: _PAGE})
    async def list_invoices(
        limit: Limit = 50,
        cursor: Cursor = None,
        customer_erp_id: Annotated[
            str | None, Query(pattern=SAP_DOCUMENT_NUMBER, examples=["1000000"])
        ] = None,
        po_number: Annotated[
            str | None, Query(min_length=1, max_length=35, examples=["PO-4711"])
        ] = None,
        status: Annotated[
            InvoiceStatus | None, Query(description="Only invoices so far paid.", examples=["open"])
        ] = None,
        changed_since: Annotated[
            UtcDatetime | None,
            Query(
                description="Only those changed after this time (with its UTC offset).",
                examples=["2026-11-24T00:00:00Z"],
            ),
        ] = None,
    ) -> Page[Invoice]:
        """Invoices by number, filtered and paged; cancellation documents are not listed."""
        offset = offset_of(cursor)
        window = await erp.list_invoices(
            customer_erp_id=customer_erp_id,
            po_number=po_number,
            status=status,
            changed_since=changed_since,
            offset=offset,
            limit=limit + 1,
        )
        return page_of(window, offset=offset, limit=limit)

    @router.get("/invoices/{erp_number}", responses={200: _ONE | {"headers": _ETAG_HEADER}})
    async def get_invoice(erp_number: NumberPath, response: Response) -> Invoice:
        """One invoice with its lines, and its ETag."""
        found = await erp.get_invoice(erp_number)
        tag(response, found.etag)
        return found.record

    @router.post(
        "/invoices/{erp_number}/cancellation",
        status_code=status.HTTP_201_CREATED,
        responses={
            201: _CANCELLED,
            200: {"description": "It was cancelled already; nothing changed."},
        },
    )
    async def cancel_invoice(erp_number: NumberPath, response: Response) -> Invoice:
        """Cancel an unpaid invoice (201); a repeat finds it cancelled and answers 200.

        An invoice paid in full or in part cannot be cancelled (422).
        """
        invoice, cancelled = await erp.cancel_invoice(erp_number)
        response.status_code = status.HTTP_201_CREATED if cancelled else status.HTTP_200_OK
        return invoice

    return router
