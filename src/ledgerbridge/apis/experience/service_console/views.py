"""Routes of the service-console Experience API: the customer 360, fanned out in one call.

The CRM profile, the open cases and the open orders (order-to-cash) are asked for at once;
the ERP parts (credit, open invoices, open receivables, payments) need the ERP customer id
from the profile, so they start together as soon as it is there. Each part is bounded by
the layer's time budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, FastAPI, Path, Query

from ledgerbridge.apis.experience.case_watch import is_final
from ledgerbridge.apis.experience.customer_orders import cases_of
from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.fanout import (
    Outcome,
    SourceState,
    SourceStatus,
    attempt,
    status_of,
)
from ledgerbridge.apis.experience.service_console.client import (
    CreditPosition,
    Customer360,
    OpenOrder,
    TimelineItem,
)
from ledgerbridge.apis.process.order_to_cash.client import CRM_ID_PATTERN, OrderToCashClient
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.crm_cases.client import CrmCasesClient
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_credit.client import ErpCreditClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.canonical import (
    Case,
    CaseStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    ReceivableItem,
)
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Page

API = ApiMetadata(
    name="service-console",
    layer=Layer.EXPERIENCE,
    version=1,
    owner="customer-service",
    summary="The call centre's customer 360 in one call, partial when a backend is down.",
    scopes=("service-console:read",),
    calls=(
        "order-to-cash",
        "crm-accounts",
        "crm-cases",
        "erp-credit",
        "erp-billing-documents",
        "erp-receivables",
    ),
)

TIMELINE_LENGTH = 20
_SETTLED = {InvoiceStatus.PAID, InvoiceStatus.CANCELLED}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _timeline(
    cases: Sequence[Case], invoices: Sequence[Invoice], payments: Sequence[Payment]
) -> list[TimelineItem]:
    """The newest dated events across the parts that answered."""
    items = [
        TimelineItem(
            at=case.opened_at, kind="case-opened", summary=case.subject, reference=case.case_number
        )
        for case in cases
        if case.opened_at is not None
    ]
    items += [
        TimelineItem(
            at=_midnight(invoice.invoice_date),
            kind="invoice",
            summary=f"Invoice {invoice.erp_number}: {invoice.gross_total} ({invoice.status})",
            reference=invoice.erp_number,
        )
        for invoice in invoices
    ]
    items += [
        TimelineItem(
            at=_midnight(payment.payment_date),
            kind="payment",
            summary=f"Payment received: {payment.amount}",
            reference=payment.reference or payment.erp_document,
        )
        for payment in payments
    ]
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:TIMELINE_LENGTH]


def create_app(deps: ExperienceDeps) -> FastAPI:
    """Build service-console v1 on the Experience layer's dependencies."""
    accounts = CrmAccountsClient(deps.system)
    crm_cases = CrmCasesClient(deps.system)
    credit = ErpCreditClient(deps.system)
    billing = ErpBillingDocumentsClient(deps.system)
    receivables = ErpReceivablesClient(deps.system)
    order_to_cash = OrderToCashClient(deps.process)
    budget = deps.source_budget
    router = APIRouter()

    async def open_cases(account_id: str) -> list[Case]:
        page = await crm_cases.list_cases(account_id=account_id, limit=50)
        return [case for case in page.items if case.status is not CaseStatus.CLOSED]

    async def open_orders(customer_crm_id: str) -> list[OpenOrder]:
        return [
            OpenOrder(
                order_id=case.crm_order_id,
                state=case.state,
                status=case.status,
                erp_order_number=case.erp_order_number,
                total=case.order_total,
                currency=case.currency,
                placed_at=case.created_at,
            )
            for case in await cases_of(order_to_cash, customer_crm_id)
            if not is_final(case)
        ]

    async def open_invoices(customer_erp_id: str) -> list[Invoice]:
        page = await billing.list_invoices(customer_erp_id=customer_erp_id, limit=50)
        return [invoice for invoice in page.items if invoice.status not in _SETTLED]

    async def credit_position(customer_erp_id: str, segment: str) -> CreditPosition:
        exposure = await credit.get_credit_exposure(customer_erp_id, segment)
        return CreditPosition(
            segment=segment,
            limit=exposure.limit,
            exposure=exposure.exposure,
            available=exposure.available,
            blocked=exposure.blocked,
        )

    @router.get("/customers/{customer_crm_id}")
    async def customer_360(
        customer_crm_id: str = Path(pattern=CRM_ID_PATTERN),
        credit_segment: str = Query(
            default="1000", min_length=1, max_length=10, description="ERP credit segment."
        ),
    ) -> Customer360:
        """One customer's profile, open cases and orders, credit, open invoices and
        receivables, payments and recent timeline; a part whose backend is down is null and
        marked in ``sources``."""
        cases_task = asyncio.create_task(
            attempt(open_cases(customer_crm_id), source="crm-cases", budget=budget)
        )
        orders_task = asyncio.create_task(
            attempt(open_orders(customer_crm_id), source="order-to-cash", budget=budget)
        )
        profile = await attempt(
            accounts.get_account(customer_crm_id), source="crm-accounts", budget=budget
        )
        if profile.not_found:
            cases_task.cancel()
            orders_task.cancel()
            assert profile.failure is not None
            raise profile.failure
        sources = {"profile": status_of(profile)}
        erp_id = profile.value.erp_id if profile.value is not None else None
        erp_parts = ("credit", "open_invoices", "open_receivables", "recent_payments")
        if erp_id is None:
            reason = (
                "needs the ERP customer id from the CRM profile, which is unavailable"
                if profile.value is None
                else "the customer has no ERP customer id yet"
            )
            position: Outcome[CreditPosition] = Outcome(None, None, 0)
            invoices: Outcome[list[Invoice]] = Outcome(None, None, 0)
            items: Outcome[Page[ReceivableItem]] = Outcome(None, None, 0)
            payments: Outcome[Page[Payment]] = Outcome(None, None, 0)
            for part in erp_parts:
                sources[part] = SourceStatus(state=SourceState.SKIPPED, detail=reason)
        else:
            position, invoices, items, payments = await asyncio.gather(
                attempt(
                    credit_position(erp_id, credit_segment), source="erp-credit", budget=budget
                ),
                attempt(open_invoices(erp_id), source="erp-billing-documents", budget=budget),
                attempt(
                    receivables.list_receivables(customer_erp_id=erp_id, cleared=False, limit=50),
                    source="erp-receivables",
                    budget=budget,
                ),
                attempt(
                    receivables.list_payments(customer_erp_id=erp_id, limit=20),
                    source="erp-receivables",
                    budget=budget,
                ),
            )
            erp_outcomes: tuple[Outcome[Any], ...] = (position, invoices, items, payments)
            for part, outcome in zip(erp_parts, erp_outcomes, strict=True):
                sources[part] = status_of(outcome)
        cases, orders = await cases_task, await orders_task
        sources["open_cases"] = status_of(cases)
        sources["open_orders"] = status_of(orders)
        return Customer360(
            customer_crm_id=customer_crm_id,
            customer_erp_id=erp_id,
            profile=profile.value,
            open_cases=cases.value,
            open_orders=orders.value,
            credit=position.value,
            open_invoices=invoices.value,
            open_receivables=items.value.items if items.value is not None else None,
            recent_payments=payments.value.items if payments.value is not None else None,
            timeline=_timeline(
                cases.value or [],
                invoices.value or [],
                payments.value.items if payments.value is not None else [],
            ),
            sources=sources,
            complete=all(status.state is SourceState.OK for status in sources.values()),
        )

    return build_api(API, routers=[router])
