"""Published contract of the credit-verification Process API: its models and typed client."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledgerbridge.canonical import Money
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page

ERP_ID_PATTERN = r"^[0-9A-Za-z]{1,10}$"


class Verdict(StrEnum):
    """What the credit check answers, from the mildest to the strictest."""

    APPROVE = "approve"
    REFER = "refer"
    REJECT = "reject"


class CreditDecisionRequest(BaseModel):
    """Ask whether a customer may take on an order of ``amount``.

    ``erp_order_number`` names the order's ERP sales order when it exists already, so that
    its own value is not counted twice (once in the ERP's exposure, once as the new amount).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_erp_id": "1000000",
                    "amount": {"amount": "12500.00", "currency": "EUR"},
                    "order_id": "801000000000001AAA",
                }
            ]
        },
    )

    customer_erp_id: str = Field(pattern=ERP_ID_PATTERN, examples=["1000000"])
    amount: Money = Field(description="The order's value, in the credit limit's currency.")
    order_id: str | None = Field(default=None, min_length=1, max_length=64)
    erp_order_number: str | None = Field(default=None, pattern=ERP_ID_PATTERN)

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Money) -> Money:
        if value.amount <= 0:
            raise ValueError("an order's amount is greater than zero")
        return value


class Reason(BaseModel):
    """One rule that weighed on the decision, and the verdict it asks for."""

    rule: str = Field(examples=["referral_band"])
    verdict: Verdict
    message: str


class CreditFigures(BaseModel):
    """The figures a decision was taken on, in the credit limit's currency (the order's own
    currency for ``order_amount``, and for every sum when there is no limit).

    ``exposure`` is the ERP's (open orders plus open receivables), without this order;
    ``headroom_after`` is what the limit leaves once the order counts (negative when over);
    it is absent without a limit or when the order is in another currency.
    """

    credit_limit: Money | None
    exposure: Money | None
    open_receivables: Money
    open_orders: Money | None
    order_amount: Money
    available: Money | None
    headroom_after: Money | None
    account_blocked: bool
    overdue_amount: Money
    overdue_items: int
    oldest_overdue_days: int
    unvalued_items: int = Field(description="Open items in another currency, left out of sums.")
    as_of: date


class CreditDecision(BaseModel):
    """A recorded credit decision: the verdict, why, and the figures used."""

    decision_id: str
    customer_erp_id: str
    order_id: str | None
    erp_order_number: str | None
    verdict: Verdict
    reasons: list[Reason]
    figures: CreditFigures
    rules: dict[str, str] = Field(description="The rule settings the decision was taken under.")
    decided_at: datetime
    duration_ms: float = Field(description="How long the decision took, System API calls included.")


class CreditVerificationClient(ApiClient):
    """Takes and reads credit decisions.

    Usage::

        credit = CreditVerificationClient(http)
        decision = await credit.decide(request, idempotency_key="order-801...-credit")
        if decision.verdict is Verdict.APPROVE: ...
    """

    base_path = "/process/credit-verification/v1"

    async def decide(
        self, request: CreditDecisionRequest, *, idempotency_key: str | None = None
    ) -> CreditDecision:
        """Take and record a decision; the same key answers the first decision again."""
        headers = None if idempotency_key is None else {"Idempotency-Key": f'"{idempotency_key}"'}
        body = request.model_dump(mode="json")
        return await self._call("POST", "/decisions", CreditDecision, json=body, headers=headers)

    async def get_decision(self, decision_id: str) -> CreditDecision:
        """One recorded decision."""
        return await self._call("GET", f"/decisions/{quote(decision_id)}", CreditDecision)

    async def list_decisions(
        self, customer_erp_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[CreditDecision]:
        """One page of a customer's decisions, newest first."""
        return await self._page(
            f"/customers/{quote(customer_erp_id)}/decisions",
            CreditDecision,
            filters={},
            limit=limit,
            cursor=cursor,
        )
