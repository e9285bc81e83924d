"""Taking a credit decision: the customer's figures from the ERP System APIs, the rules, the
record.

The figures come from three calls made at once: the credit exposure (erp-credit), the open
receivables (erp-receivables) and, when the order exists in the ERP already, its sales order
(erp-sales-orders), whose value the ERP may count in the exposure already.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from ledgerbridge.apis.process.credit_verification import store
from ledgerbridge.apis.process.credit_verification.client import (
    CreditDecision,
    CreditDecisionRequest,
    CreditFigures,
)
from ledgerbridge.apis.process.credit_verification.rules import CreditRules
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.system.erp_credit.client import ErpCreditClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.apis.system.erp_sales_orders.client import ErpSalesOrdersClient
from ledgerbridge.canonical import CreditExposure, Money, OrderStatus, ReceivableItem
from ledgerbridge.runtime.errors import BackendRejected
from ledgerbridge.runtime.problems import UpstreamProblem

_PAGE = 200


class OrderNotOfCustomer(BackendRejected):
    """The request names an ERP sales order that is not one of its customer's."""


async def decide(
    deps: ProcessDeps, rules: CreditRules, request: CreditDecisionRequest
) -> CreditDecision:
    """Take, record and return the decision on ``request``."""
    started = time.perf_counter()
    decided_at = datetime.now(UTC)
    exposure, items, counted = await asyncio.gather(
        _exposure(deps, request.customer_erp_id, rules.credit_segment),
        _open_items(deps, request.customer_erp_id),
        _counted_order_value(deps, request),
    )
    figures = _figures(request, exposure, items, counted, rules, decided_at.date())
    verdict, reasons = rules.evaluate(figures)
    decision = CreditDecision(
        decision_id=str(uuid.uuid4()),
        customer_erp_id=request.customer_erp_id,
        order_id=request.order_id,
        erp_order_number=request.erp_order_number,
        verdict=verdict,
        reasons=reasons,
        figures=figures,
        rules=rules.settings(),
        decided_at=decided_at,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    async with deps.store.engine.begin() as conn:
        await store.record(conn, decision)
    return decision


async def _exposure(deps: ProcessDeps, customer_erp_id: str, segment: str) -> CreditExposure | None:
    """The customer's limit and exposure; None without a credit account in the segment."""
    try:
        return await ErpCreditClient(deps.system).get_credit_exposure(customer_erp_id, segment)
    except UpstreamProblem as exc:
        if exc.status == 404:
            return None
        raise


async def _open_items(deps: ProcessDeps, customer_erp_id: str) -> list[ReceivableItem]:
    receivables = ErpReceivablesClient(deps.system)
    items: list[ReceivableItem] = []
    cursor: str | None = None
    while True:
        page = await receivables.list_receivables(
            customer_erp_id=customer_erp_id, cleared=False, limit=_PAGE, cursor=cursor
        )
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            return items


async def _counted_order_value(deps: ProcessDeps, request: CreditDecisionRequest) -> Money | None:
    """The value of the request's ERP order that the ERP counts in the exposure already."""
    if request.erp_order_number is None:
        return None
    try:
        order = await ErpSalesOrdersClient(deps.system).get_sales_order(request.erp_order_number)
    except UpstreamProblem as exc:
        if exc.status != 404:
            raise
        order = None
    if order is None or order.customer_erp_id != request.customer_erp_id:
        raise OrderNotOfCustomer(
            f"the ERP has no sales order {request.erp_order_number} of customer "
            f"{request.customer_erp_id}",
            backend="erp-sales-orders",
        )
    # Open, unblocked orders count; a blocked, completed or cancelled one does not.
    return order.net_total if order.status is OrderStatus.IN_ERP else None


def _figures(
    request: CreditDecisionRequest,
    exposure: CreditExposure | None,
    items: Sequence[ReceivableItem],
    counted: Money | None,
    rules: CreditRules,
    today: date,
) -> CreditFigures:
    currency = request.amount.currency if exposure is None else exposure.limit.currency
    valued = [item for item in items if item.amount.currency == currency]
    late = [
        (item.amount, (today - item.due_date).days)
        for item in valued
        if item.due_date is not None and item.amount.amount > 0
    ]
    overdue = [(amount, days) for amount, days in late if days > rules.overdue_grace_days]
    receivables = Money.total((item.amount for item in valued), currency)
    limit = used = available = headroom = open_orders = None
    if exposure is not None:
        limit, used = exposure.limit, exposure.exposure
        if counted is not None and counted.currency == currency:
            used = used - counted
        available = limit - used
        open_orders = used - receivables
        if request.amount.currency == currency:
            headroom = available - request.amount
    return CreditFigures(
        credit_limit=limit,
        exposure=used,
        open_receivables=receivables,
        open_orders=open_orders,
        order_amount=request.amount,
        available=available,
        headroom_after=headroom,
        account_blocked=exposure is not None and exposure.blocked,
        overdue_amount=Money.total((amount for amount, _ in overdue), currency),
        overdue_items=len(overdue),
        oldest_overdue_days=max((days for _, days in overdue), default=0),
        unvalued_items=len(items) - len(valued),
        as_of=today,
    )
