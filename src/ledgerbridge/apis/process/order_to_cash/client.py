"""Published contract of the order-to-cash Process API: its models and typed client."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page

CRM_ID_PATTERN = r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$"


class StartOrderToCash(BaseModel):
    """Ask for an order won in the CRM to go through order-to-cash."""

    model_config = ConfigDict(extra="forbid")

    crm_order_id: str = Field(pattern=CRM_ID_PATTERN, examples=["801000000000001AAA"])


class CaseStep(BaseModel):
    """One side effect the saga took for a case (or tried to), and how it ended."""

    name: str
    outcome: str
    detail: str | None = None
    at: datetime


class CaseTransition(BaseModel):
    """One state a case reached, when, and why."""

    state: str
    detail: str | None = None
    at: datetime


class OrderCase(BaseModel):
    """The durable state of one order in order-to-cash.

    ``state`` is the saga's state (captured ... closed, referred, rejected, cancelled,
    failed); ``status`` is the order status the rest of the house shows (in_erp,
    credit_hold, invoiced, paid, closed ...). ``timeline`` lists the states reached,
    ``steps`` the side effects taken.
    """

    case_id: str
    crm_order_id: str
    state: str = "captured"
    status: str
    customer_crm_id: str
    customer_erp_id: str | None
    erp_order_number: str | None
    invoice_erp_number: str | None = None
    order_total: Decimal | None = None
    currency: str | None = None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    steps: list[CaseStep]
    timeline: list[CaseTransition] = Field(default_factory=list)


class ReviewItem(BaseModel):
    """A case waiting for a person: why, the figures involved, and what may be done."""

    review_id: str
    case_id: str
    crm_order_id: str
    kind: str = Field(description="credit (a credit block) or failure (a step failed for good)")
    reason: str
    figures: dict[str, str]
    actions: list[str]
    status: str = Field(description="open, approved, rejected or retried")
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None


class ReviewDecision(BaseModel):
    """Who resolves a review item, and why."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=128, examples=["credit-desk@bank.example"])
    note: str | None = Field(default=None, max_length=2000)


class CancelOrder(BaseModel):
    """Who cancels an order, and why."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=128, examples=["sales-desk@bank.example"])
    reason: str | None = Field(default=None, max_length=2000)


class DurationStats(BaseModel):
    """Seconds taken, over the cases that have the measure."""

    count: int
    mean: float | None
    median: float | None
    p95: float | None


class OrderToCashKpis(BaseModel):
    """Key figures of order-to-cash, computed from the case timelines."""

    cases: int
    open_cases: int
    closed_cases: int
    straight_through_rate: float | None = Field(
        description="Share of closed cases that no person touched."
    )
    manual_intervention_rate: float | None = Field(
        description="Share of all cases that went to the review queue."
    )
    cycle_time: DurationStats = Field(description="From capture to closed.")
    credit_decision_time: DurationStats = Field(
        description="From capture to the credit decision (passed or referred)."
    )
    exception_resolution_time: DurationStats = Field(
        description="From a review item's creation to its resolution."
    )
    by_state: dict[str, int]


class OrderToCashClient(ApiClient):
    """Runs CRM orders through order-to-cash and reports their cases."""

    base_path = "/process/order-to-cash/v1"

    async def start(self, crm_order_id: str) -> OrderCase:
        """Run (or resume) order-to-cash for a CRM order; repeating it changes nothing."""
        body = StartOrderToCash(crm_order_id=crm_order_id).model_dump()
        return await self._call("POST", "/orders", OrderCase, json=body)

    async def get_case(self, crm_order_id: str) -> OrderCase:
        """The case of a CRM order."""
        return await self._call("GET", f"/orders/{quote(crm_order_id)}", OrderCase)

    async def cancel(self, crm_order_id: str, request: CancelOrder) -> OrderCase:
        """Cancel an order's case, undoing its effects; repeating it changes nothing."""
        body = request.model_dump()
        return await self._call(
            "POST", f"/orders/{quote(crm_order_id)}/cancellation", OrderCase, json=body
        )

    async def list_cases(
        self, *, state: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[OrderCase]:
        """One page of cases, newest first, optionally in one state."""
        return await self._page(
            "/orders", OrderCase, filters={"state": state}, limit=limit, cursor=cursor
        )

    async def list_reviews(
        self, *, status: str | None = "open", limit: int = 50, cursor: str | None = None
    ) -> Page[ReviewItem]:
        """One page of the review queue, oldest first (open items by default)."""
        return await self._page(
            "/reviews", ReviewItem, filters={"status": status}, limit=limit, cursor=cursor
        )

    async def approve(self, review_id: str, decision: ReviewDecision) -> ReviewItem:
        """Approve a review item; the case resumes."""
        body = decision.model_dump()
        return await self._call(
            "POST", f"/reviews/{quote(review_id)}/approval", ReviewItem, json=body
        )

    async def reject(self, review_id: str, decision: ReviewDecision) -> ReviewItem:
        """Reject a review item; the case's earlier effects are compensated."""
        body = decision.model_dump()
        return await self._call(
            "POST", f"/reviews/{quote(review_id)}/rejection", ReviewItem, json=body
        )

    async def retry(self, review_id: str, decision: ReviewDecision) -> ReviewItem:
        """Run a failed case again from the last state it reached (once per review item)."""
        body = decision.model_dump()
        return await self._call("POST", f"/reviews/{quote(review_id)}/retry", ReviewItem, json=body)

    async def kpis(self) -> OrderToCashKpis:
        """Cycle time, straight-through and manual-intervention rates, decision times."""
        return await self._call("GET", "/kpis", OrderToCashKpis)
