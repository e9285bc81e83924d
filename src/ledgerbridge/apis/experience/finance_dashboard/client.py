"""Published contract of the finance-dashboard Experience API: its models and client.

One call gathers the order-to-cash KPIs (from the Process layer), daily time series built
from the cases' timelines, and the receivables aging and DSO (from the ERP System APIs). Each
part has a marker in ``sources``, as in the service console.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel

from ledgerbridge.apis.experience.fanout import SourceStatus
from ledgerbridge.canonical import Money
from ledgerbridge.runtime.api_client import ApiClient


class DayPoint(BaseModel):
    """One day of order-to-cash: cases captured, closed, sent to review, and how fast."""

    day: dt.date
    captured: int
    closed: int
    exceptions: int
    straight_through_rate: float | None
    median_cycle_seconds: float | None


class AgingBucket(BaseModel):
    """Open receivables whose due date is ``min_days`` to ``max_days`` past (None: no end)."""

    label: str
    min_days: int
    max_days: int | None
    amount: Money
    items: int


class ReceivablesAging(BaseModel):
    """Open receivables of one currency, by days past due, and the days sales outstanding."""

    currency: str
    as_of: dt.date
    buckets: list[AgingBucket]
    open_total: Money
    billed_in_window: Money
    window_days: int
    dso_days: Decimal | None


class Kpis(BaseModel):
    """The Process layer's order-to-cash key figures, as they stand."""

    cases: int
    open_cases: int
    closed_cases: int
    straight_through_rate: float | None
    manual_intervention_rate: float | None
    median_cycle_seconds: float | None
    by_state: dict[str, int]


class FinanceDashboard(BaseModel):
    """The finance dashboard: KPIs now, series by day, aging per currency, source markers."""

    kpis: Kpis | None
    series: list[DayPoint] | None
    aging: list[ReceivablesAging] | None
    truncated: bool
    sources: dict[str, SourceStatus]


class FinanceDashboardClient(ApiClient):
    """The finance team's view of order-to-cash."""

    base_path = "/experience/finance-dashboard/v1"

    async def dashboard(self, *, days: int = 30) -> FinanceDashboard:
        """KPIs, the last ``days`` days as series, and the receivables aging."""
        return await self._call("GET", "/dashboard", FinanceDashboard, params={"days": days})
