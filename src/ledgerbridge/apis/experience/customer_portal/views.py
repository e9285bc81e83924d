"""Routes of the customer-portal Experience API, v1 and v2 side by side on shared handlers.

v2 is the breaking successor of v1: the state becomes one object, the history a timeline
naming its steps, and the order's total and line count come along (read from crm-orders v2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Path, Request
from fastapi.responses import StreamingResponse

from ledgerbridge.apis.experience.customer_orders import (
    cases_of,
    own_case,
    status_events,
    status_label,
)
from ledgerbridge.apis.experience.customer_portal.client import (
    CUSTOMER_HEADER,
    PortalInvoice,
    PortalInvoices,
    PortalOrder,
    PortalOrders,
    PortalOrderStatus,
    PortalOrderSummary,
    PortalPayment,
    PortalPayments,
    PortalState,
    StatusEvent,
    TimelineEntry,
)
from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.offset_cursor import next_cursor
from ledgerbridge.apis.process.order_to_cash.client import (
    CRM_ID_PATTERN,
    OrderCase,
    OrderToCashClient,
)
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.crm_orders.client import CrmOrdersV2Client
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Cursor, Limit, decode_cursor, encode_cursor, offset_of
from ledgerbridge.runtime.security import bound_claim
from ledgerbridge.runtime.versioning import Lifecycle

API = ApiMetadata(
    name="customer-portal",
    layer=Layer.EXPERIENCE,
    version=1,
    owner="digital-channels",
    summary="What a customer sees of their orders, live.",
    scopes=("customer-portal:read",),
    calls=("order-to-cash", "crm-accounts", "erp-billing-documents", "erp-receivables"),
    lifecycle=Lifecycle(
        deprecated=datetime(2026, 12, 1, tzinfo=UTC),
        sunset=datetime(2028, 6, 1, tzinfo=UTC),
        successor=2,
    ),
)
API_V2 = ApiMetadata(
    name="customer-portal",
    layer=Layer.EXPERIENCE,
    version=2,
    owner="digital-channels",
    summary="What a customer sees of their orders, live, with their totals.",
    scopes=("customer-portal:read",),
    calls=("order-to-cash", "crm-orders"),
)

# Saga steps, in the words a customer reads.
_STEP_LABELS = {
    "ensure-customer": "Customer account verified",
    "create-sales-order": "Order booked",
    "link-crm-order": "Order confirmed",
}


CustomerId = Annotated[
    str | None,
    Header(
        alias=CUSTOMER_HEADER,
        pattern=CRM_ID_PATTERN,
        description="The signed-in customer's CRM account id, set by the portal's sign-in.",
    ),
]
SignedInCustomer = Annotated[
    str,
    Header(
        alias=CUSTOMER_HEADER,
        pattern=CRM_ID_PATTERN,
        description="The signed-in customer's CRM account id, set by the portal's sign-in.",
    ),
]


def _wrap(upstream: str | None) -> str | None:
    """Our cursor around the System API's, so callers only ever see ours."""
    return None if upstream is None else encode_cursor({"after": upstream})


def _upstream(cursor: str | None) -> str | None:
    after = decode_cursor(cursor).get("after")
    return after if isinstance(after, str) else None


def _timeline(case: OrderCase) -> list[TimelineEntry]:
    """The steps a customer is told about: those that went through, in their words."""
    return [
        TimelineEntry(step=step.name, label=_STEP_LABELS[step.name], at=step.at)
        for step in case.steps
        if step.outcome == "ok" and step.name in _STEP_LABELS
    ]


def create_app(deps: ExperienceDeps) -> list[FastAPI]:
    """Build customer-portal v1 and v2 on the Experience layer's dependencies."""
    order_to_cash = OrderToCashClient(deps.process)
    crm_orders = CrmOrdersV2Client(deps.system)
    accounts = CrmAccountsClient(deps.system)
    billing = ErpBillingDocumentsClient(deps.system)
    receivables = ErpReceivablesClient(deps.system)
    v1, v2 = APIRouter(), APIRouter()

    async def erp_id_of(customer_crm_id: str) -> str | None:
        return (await accounts.get_account(customer_crm_id)).erp_id

    @v1.get("/orders/{order_id}/status")
    async def order_status(
        customer: CustomerId = None, order_id: str = Path(pattern=CRM_ID_PATTERN)
    ) -> PortalOrderStatus:
        """The current status of one order and what has happened to it so far; with
        X-Customer-Id, only when it is that customer's order."""
        if customer is None:
            case = await order_to_cash.get_case(order_id)
        else:
            case = await own_case(order_to_cash, customer, order_id)
        return PortalOrderStatus(
            order_id=case.crm_order_id,
            status=case.status,
            label=status_label(case.status),
            erp_order_number=case.erp_order_number,
            updated_at=case.updated_at,
            history=[StatusEvent(label=entry.label, at=entry.at) for entry in _timeline(case)],
        )

    @v1.get("/orders")
    async def my_orders(
        customer: SignedInCustomer, limit: Limit = 50, cursor: Cursor = None
    ) -> PortalOrders:
        """One page of the signed-in customer's orders, newest first."""
        offset = offset_of(cursor)
        cases = await cases_of(order_to_cash, customer)
        return PortalOrders(
            next_cursor=next_cursor(offset, limit, len(cases)),
            items=[
                PortalOrderSummary(
                    order_id=case.crm_order_id,
                    status=case.status,
                    label=status_label(case.status),
                    erp_order_number=case.erp_order_number,
                    total=case.order_total,
                    currency=case.currency,
                    placed_at=case.created_at,
                    updated_at=case.updated_at,
                )
                for case in cases[offset : offset + limit]
            ],
        )

    @v1.get(
        "/orders/{order_id}/events",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def order_events(
        customer: SignedInCustomer, order_id: str = Path(pattern=CRM_ID_PATTERN)
    ) -> StreamingResponse:
        """One of the customer's orders as server-sent events: ``status`` now and at every
        change, ``end`` once it is finished."""
        case = await own_case(order_to_cash, customer, order_id)
        events = status_events(order_to_cash, case, interval=deps.watch_interval)
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @v1.get("/invoices")
    async def my_invoices(
        customer: SignedInCustomer, limit: Limit = 50, cursor: Cursor = None
    ) -> PortalInvoices:
        """One page of the signed-in customer's invoices."""
        after = _upstream(cursor)
        erp_id = await erp_id_of(customer)
        if erp_id is None:
            return PortalInvoices(items=[])
        page = await billing.list_invoices(customer_erp_id=erp_id, limit=limit, cursor=after)
        return PortalInvoices(
            next_cursor=_wrap(page.next_cursor),
            items=[
                PortalInvoice(
                    number=invoice.erp_number,
                    date=invoice.invoice_date,
                    due=invoice.due_date,
                    status=invoice.status.value,
                    total=invoice.gross_total.amount,
                    currency=invoice.currency,
                )
                for invoice in page.items
            ],
        )

    @v1.get("/payments")
    async def my_payments(
        customer: SignedInCustomer, limit: Limit = 50, cursor: Cursor = None
    ) -> PortalPayments:
        """One page of the signed-in customer's payments."""
        after = _upstream(cursor)
        erp_id = await erp_id_of(customer)
        if erp_id is None:
            return PortalPayments(items=[])
        page = await receivables.list_payments(customer_erp_id=erp_id, limit=limit, cursor=after)
        return PortalPayments(
            next_cursor=_wrap(page.next_cursor),
            items=[
                PortalPayment(
                    date=payment.payment_date,
                    amount=payment.amount.amount,
                    currency=payment.amount.currency,
                    reference=payment.reference,
                    invoices=payment.invoice_erp_numbers,
                )
                for payment in page.items
            ],
        )

    @v2.get("/orders/{order_id}")
    async def get_order(
        request: Request, order_id: str = Path(pattern=CRM_ID_PATTERN)
    ) -> PortalOrder:
        """One order as its customer sees it: state, timeline, total and line count."""
        customer = bound_claim(request, "customer_id")
        case = await (
            order_to_cash.get_case(order_id)
            if customer is None
            else own_case(order_to_cash, customer, order_id)
        )
        summary = await crm_orders.get_order(order_id)
        return PortalOrder(
            order_id=case.crm_order_id,
            state=PortalState(code=case.status, label=status_label(case.status)),
            erp_reference=case.erp_order_number,
            updated_at=case.updated_at,
            timeline=_timeline(case),
            total=summary.net_total,
            line_count=summary.line_count,
        )

    return [build_api(API, routers=[v1]), build_api(API_V2, routers=[v2])]
