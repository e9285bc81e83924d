"""Routes of the mobile Experience API: compact items, cursor pages, sparse fieldsets, ETags.

A page's cursor wraps the System API's own cursor, so paging costs one call below per page
(plus the CRM profile read that turns the customer's CRM id into its ERP id).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response

from ledgerbridge.apis.experience.conditional import conditional_json
from ledgerbridge.apis.experience.customer_orders import own_case
from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.mobile.client import (
    MobileInvoice,
    MobileOrder,
    MobilePage,
    MobilePayment,
)
from ledgerbridge.apis.experience.mobile.fieldsets import Fields, chosen_fields, sparse
from ledgerbridge.apis.process.order_to_cash.client import CRM_ID_PATTERN, OrderToCashClient
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.errors import NotFound
from ledgerbridge.runtime.paging import Cursor, decode_cursor, encode_cursor
from ledgerbridge.runtime.security import bound_claim

API = ApiMetadata(
    name="mobile",
    layer=Layer.EXPERIENCE,
    version=1,
    owner="digital-channels",
    summary="A customer's invoices, payments and orders for the mobile app: compact and cached.",
    scopes=("mobile:read",),
    calls=("crm-accounts", "erp-billing-documents", "erp-receivables", "order-to-cash"),
)

MOBILE_MAX_LIMIT = 50
MobileLimit = Annotated[int, Query(ge=1, le=MOBILE_MAX_LIMIT, description="Items per page.")]
CustomerId = Annotated[str, Path(pattern=CRM_ID_PATTERN, description="CRM account id.")]
_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"model": MobilePage, "description": "One page; 304 when If-None-Match holds."}
}


def _next(upstream: str | None) -> str | None:
    return None if upstream is None else encode_cursor({"after": upstream})


def _upstream(cursor: str | None) -> str | None:
    after = decode_cursor(cursor).get("after")
    return after if isinstance(after, str) else None


def create_app(deps: ExperienceDeps) -> FastAPI:
    """Build mobile v1 on the Experience layer's dependencies."""
    accounts = CrmAccountsClient(deps.system)
    billing = ErpBillingDocumentsClient(deps.system)
    receivables = ErpReceivablesClient(deps.system)
    order_to_cash = OrderToCashClient(deps.process)
    router = APIRouter()

    async def erp_id_of(request: Request, customer_crm_id: str) -> str:
        # A customer signed in sees their own data only; another's is as unknown as none.
        if bound_claim(request, "customer_id") not in {None, customer_crm_id}:
            raise NotFound(f"customer {customer_crm_id} is not known", backend="mobile")
        party = await accounts.get_account(customer_crm_id)
        if party.erp_id is None:
            raise NotFound(f"customer {customer_crm_id} is not in the ERP yet", backend="crm")
        return party.erp_id

    def page(request: Request, items: list[dict[str, Any]], upstream: str | None) -> Response:
        body = MobilePage(items=items, next_cursor=_next(upstream))
        return conditional_json(request, body.model_dump(mode="json", exclude_none=True))

    @router.get("/customers/{customer_crm_id}/invoices", response_model=None, responses=_PAGE)
    async def invoices(
        request: Request,
        customer_crm_id: CustomerId,
        fields: Fields = None,
        limit: MobileLimit = 20,
        cursor: Cursor = None,
    ) -> Response:
        """The customer's invoices, flat; ``fields`` keeps only the keys named."""
        chosen = chosen_fields(fields, MobileInvoice)
        after = _upstream(cursor)
        found = await billing.list_invoices(
            customer_erp_id=await erp_id_of(request, customer_crm_id), limit=limit, cursor=after
        )
        items = [
            sparse(
                MobileInvoice(
                    number=invoice.erp_number,
                    date=invoice.invoice_date,
                    due=invoice.due_date,
                    status=invoice.status.value,
                    total=invoice.gross_total.amount,
                    currency=invoice.currency,
                    po=invoice.po_number,
                ),
                chosen,
            )
            for invoice in found.items
        ]
        return page(request, items, found.next_cursor)

    @router.get("/customers/{customer_crm_id}/payments", response_model=None, responses=_PAGE)
    async def payments(
        request: Request,
        customer_crm_id: CustomerId,
        fields: Fields = None,
        limit: MobileLimit = 20,
        cursor: Cursor = None,
    ) -> Response:
        """The customer's payments, flat; ``fields`` keeps only the keys named."""
        chosen = chosen_fields(fields, MobilePayment)
        after = _upstream(cursor)
        found = await receivables.list_payments(
            customer_erp_id=await erp_id_of(request, customer_crm_id), limit=limit, cursor=after
        )
        items = [
            sparse(
                MobilePayment(
                    date=payment.payment_date,
                    amount=payment.amount.amount,
                    currency=payment.amount.currency,
                    reference=payment.reference,
                    invoices=payment.invoice_erp_numbers,
                ),
                chosen,
            )
            for payment in found.items
        ]
        return page(request, items, found.next_cursor)

    @router.get(
        "/orders/{order_id}",
        response_model=None,
        responses={200: {"model": MobileOrder, "description": "304 when If-None-Match holds."}},
    )
    async def order(request: Request, order_id: CustomerId, fields: Fields = None) -> Response:
        """Where one order stands, flat; ``fields`` keeps only the keys named."""
        chosen = chosen_fields(fields, MobileOrder)
        customer = bound_claim(request, "customer_id")
        case = await (
            order_to_cash.get_case(order_id)
            if customer is None
            else own_case(order_to_cash, customer, order_id)
        )
        compact = MobileOrder(
            id=case.crm_order_id,
            status=case.status,
            erp_number=case.erp_order_number,
            updated=case.updated_at,
            steps=len(case.steps),
        )
        return conditional_json(request, sparse(compact, chosen))

    return build_api(API, routers=[router])
