"""Routes of the finance-dashboard Experience API.

Three parts fetched at once, each marked in ``sources``: the Process layer's KPIs; daily
series built from the cases of the window (their creation, closing and timeline); and the
receivables aging with DSO from the ERP's open items and the window's invoices. Lists are
read page by page up to ``MAX_ITEMS`` each; beyond that the answer says ``truncated``.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, TypeVar

from fastapi import APIRouter, FastAPI, Query

from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.fanout import attempt, status_of
from ledgerbridge.apis.experience.finance_dashboard.client import (
    AgingBucket,
    DayPoint,
    FinanceDashboard,
    Kpis,
    ReceivablesAging,
)
from ledgerbridge.apis.process.order_to_cash.client import OrderCase, OrderToCashClient
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.canonical import Invoice, InvoiceStatus, Money, ReceivableItem
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Page

API = ApiMetadata(
    name="finance-dashboard",
    layer=Layer.EXPERIENCE,
    version=1,
    owner="finance-operations",
    summary="Order-to-cash KPIs, receivables aging, DSO and exceptions as time series.",
    scopes=("finance-dashboard:read",),
    calls=("order-to-cash", "erp-receivables", "erp-billing-documents"),
)

MAX_ITEMS = 5000
EXCEPTION_STATES = frozenset({"referred", "failed"})
# (label, first day past due, last day past due); "current" is not yet due.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)
ItemT = TypeVar("ItemT")


async def _all(
    fetch: Callable[[str | None], Awaitable[Page[ItemT]]], *, keep: Callable[[ItemT], bool]
) -> AsyncIterator[ItemT]:
    """Items of every page, until the last page or ``keep`` says stop."""
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        for item in page.items:
            if not keep(item):
                return
            yield item
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _series(cases: list[OrderCase], first: date, last: date) -> list[DayPoint]:
    captured: dict[date, int] = defaultdict(int)
    exceptions: dict[date, int] = defaultdict(int)
    closed: dict[date, list[OrderCase]] = defaultdict(list)
    for case in cases:
        captured[_day_of(case.created_at)] += 1
        for move in case.timeline:
            if move.state in EXCEPTION_STATES:
                exceptions[_day_of(move.at)] += 1
        if case.closed_at is not None:
            closed[_day_of(case.closed_at)].append(case)
    points = []
    day = first
    while day <= last:
        done = closed.get(day, [])
        clean = [c for c in done if not {m.state for m in c.timeline} & EXCEPTION_STATES]
        cycles = [
            (c.closed_at - c.created_at).total_seconds() for c in done if c.closed_at is not None
        ]
        points.append(
            DayPoint(
                day=day,
                captured=captured.get(day, 0),
                closed=len(done),
                exceptions=exceptions.get(day, 0),
                straight_through_rate=len(clean) / len(done) if done else None,
                median_cycle_seconds=statistics.median(cycles) if cycles else None,
            )
        )
        day += timedelta(days=1)
    return points


def _aging(
    items: list[ReceivableItem], invoices: list[Invoice], as_of: date, window_days: int
) -> list[ReceivablesAging]:
    by_currency: dict[str, list[ReceivableItem]] = defaultdict(list)
    for item in items:
        by_currency[item.amount.currency].append(item)
    billed: dict[str, Money] = {}
    for invoice in invoices:
        billed[invoice.currency] = billed.get(invoice.currency, Money.zero(invoice.currency)) + (
            invoice.gross_total
        )
    result = []
    for currency in sorted(set(by_currency) | set(billed)):
        open_items = by_currency.get(currency, [])
        buckets = []
        for label, low, high in BUCKETS:
            inside = [
                item
                for item in open_items
                if _past_due(item, as_of) >= low
                and (high is None or _past_due(item, as_of) <= high)
            ]
            buckets.append(
                AgingBucket(
                    label=label,
                    min_days=low,
                    max_days=high,
                    amount=Money.total((item.amount for item in inside), currency),
                    items=len(inside),
                )
            )
        open_total = Money.total((item.amount for item in open_items), currency)
        window_billed = billed.get(currency, Money.zero(currency))
        dso = (
            (open_total.amount / window_billed.amount * window_days).quantize(Decimal("0.1"))
            if window_billed.amount > 0
            else None
        )
        result.append(
            ReceivablesAging(
                currency=currency,
                as_of=as_of,
                buckets=buckets,
                open_total=open_total,
                billed_in_window=window_billed,
                window_days=window_days,
                dso_days=dso,
            )
        )
    return result


def _past_due(item: ReceivableItem, as_of: date) -> int:
    due = item.due_date or item.document_date or as_of
    return max((as_of - due).days, 0)


def dashboard_of(deps: ExperienceDeps) -> Callable[[int], Awaitable[FinanceDashboard]]:
    """The dashboard of the last ``days`` days, read from the layers below; the console
    page serves the same figures behind its session."""
    order_to_cash = OrderToCashClient(deps.process)
    receivables = ErpReceivablesClient(deps.system)
    billing = ErpBillingDocumentsClient(deps.system)

    async def kpis() -> Kpis:
        found = await order_to_cash.kpis()
        return Kpis(
            cases=found.cases,
            open_cases=found.open_cases,
            closed_cases=found.closed_cases,
            straight_through_rate=found.straight_through_rate,
            manual_intervention_rate=found.manual_intervention_rate,
            median_cycle_seconds=found.cycle_time.median,
            by_state=found.by_state,
        )

    async def cases_since(start: datetime) -> tuple[list[OrderCase], bool]:
        found: list[OrderCase] = []
        pages = _all(
            lambda cursor: order_to_cash.list_cases(limit=200, cursor=cursor),
            keep=lambda case: case.created_at >= start,
        )
        async for case in pages:
            found.append(case)
            if len(found) >= MAX_ITEMS:
                return found, True
        return found, False

    async def open_items() -> tuple[list[ReceivableItem], bool]:
        found: list[ReceivableItem] = []
        pages = _all(
            lambda cursor: receivables.list_receivables(cleared=False, limit=200, cursor=cursor),
            keep=lambda _: True,
        )
        async for item in pages:
            found.append(item)
            if len(found) >= MAX_ITEMS:
                return found, True
        return found, False

    async def billed_since(start: date) -> tuple[list[Invoice], bool]:
        found: list[Invoice] = []
        since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
        pages = _all(
            lambda cursor: billing.list_invoices(changed_since=since, limit=200, cursor=cursor),
            keep=lambda _: True,
        )
        async for invoice in pages:
            if invoice.invoice_date >= start and invoice.status is not InvoiceStatus.CANCELLED:
                found.append(invoice)
            if len(found) >= MAX_ITEMS:
                return found, True
        return found, False

    async def aging(today: date, days: int) -> tuple[list[ReceivablesAging], bool]:
        (items, more_items), (invoices, more_invoices) = await asyncio.gather(
            open_items(), billed_since(today - timedelta(days=days - 1))
        )
        return _aging(items, invoices, today, days), more_items or more_invoices

    async def dashboard(days: int) -> FinanceDashboard:
        today = datetime.now(UTC).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        budget = deps.source_budget
        figures, cases, aged = await asyncio.gather(
            attempt(kpis(), source="order-to-cash", budget=budget),
            attempt(cases_since(start), source="order-to-cash", budget=budget),
            attempt(aging(today, days), source="erp-receivables", budget=budget),
        )
        return FinanceDashboard(
            kpis=figures.value,
            series=_series(cases.value[0], first, today) if cases.value is not None else None,
            aging=aged.value[0] if aged.value is not None else None,
            truncated=bool(
                (cases.value is not None and cases.value[1])
                or (aged.value is not None and aged.value[1])
            ),
            sources={
                "kpis": status_of(figures),
                "series": status_of(cases),
                "aging": status_of(aged),
            },
        )

    return dashboard


def create_app(deps: ExperienceDeps) -> FastAPI:
    """Build finance-dashboard v1 on the Experience layer's dependencies."""
    build = dashboard_of(deps)
    router = APIRouter()

    @router.get("/dashboard")
    async def dashboard(
        days: Annotated[int, Query(ge=1, le=366, description="Days of series and DSO.")] = 30,
    ) -> FinanceDashboard:
        """KPIs now, the last ``days`` days as daily series (captured, closed, exceptions,
        straight-through rate, cycle time), receivables aging and DSO per currency."""
        return await build(days)

    return build_api(API, routers=[router])
