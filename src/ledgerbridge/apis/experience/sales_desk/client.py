"""Published contract of the sales-desk Experience API: quote checks and their client.

A quote check prices each line from the ERP's conditions, says whether each product can be
ordered, shows the customer's credit headroom, and tells whether the order, placed now,
would pass the ERP's credit check on its own (``auto_approve``) or go to the review queue
(``refer``). Nothing is stored or reserved.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.apis.experience.fanout import SourceStatus
from ledgerbridge.canonical import Money
from ledgerbridge.runtime.api_client import ApiClient

CRM_ID = r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$"


class QuoteLineRequest(BaseModel):
    """One product and how many."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=40, examples=["FX-HEDGE"])
    quantity: Decimal = Field(gt=0, max_digits=13, decimal_places=3, examples=["3"])


class QuoteRequest(BaseModel):
    """What the rep is about to offer, and to whom."""

    model_config = ConfigDict(extra="forbid")

    customer_crm_id: str = Field(pattern=CRM_ID, examples=["001000000000001AAA"])
    lines: list[QuoteLineRequest] = Field(min_length=1, max_length=50)


class Availability(enum.StrEnum):
    """Whether a product can be ordered in the ERP now."""

    AVAILABLE = "available"
    INACTIVE = "inactive"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN = "unknown"


class QuoteLine(BaseModel):
    """One line priced: the ERP's unit price and the line's net amount, when known."""

    sku: str
    quantity: Decimal
    name: str | None
    availability: Availability
    unit_price: Money | None
    per_quantity: Decimal | None
    net: Money | None


class CreditHeadroom(BaseModel):
    """The customer's credit now and after this order."""

    segment: str
    limit: Money
    exposure: Money
    available: Money
    available_after: Money | None
    blocked: bool


class Verdict(enum.StrEnum):
    """What would happen to the order if it were placed now."""

    AUTO_APPROVE = "auto_approve"
    REFER = "refer"
    NOT_ORDERABLE = "not_orderable"
    UNKNOWN = "unknown"


class Decision(BaseModel):
    """The verdict and the reasons for it, in the rep's words."""

    verdict: Verdict
    reasons: list[str]


class QuoteCheck(BaseModel):
    """A quote checked against the ERP: lines, total, credit and the verdict."""

    customer_crm_id: str
    customer_erp_id: str | None
    lines: list[QuoteLine]
    total: Money | None
    credit: CreditHeadroom | None
    decision: Decision
    sources: dict[str, SourceStatus]


class SalesDeskClient(ApiClient):
    """Quote checks for the sales desk."""

    base_path = "/experience/sales-desk/v1"

    async def check_quote(self, request: QuoteRequest) -> QuoteCheck:
        """Price, availability, credit headroom and the approval verdict of a quote."""
        body = request.model_dump(mode="json")
        return await self._call("POST", "/quote-checks", QuoteCheck, json=body)
