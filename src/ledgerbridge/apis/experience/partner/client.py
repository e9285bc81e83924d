"""Published contract of the partner Experience API: models and the client a partner uses.

A partner names itself in ``X-Partner-Id`` (set by the API gateway from the partner's
credentials), registers one callback URL, submits orders with an ``Idempotency-Key``, and is
told of every status change of its orders by signed webhooks (see ``webhooks``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.runtime.api_client import ApiClient

PARTNER_HEADER = "X-Partner-Id"
PARTNER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,63}$"
CRM_ID = r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$"
STATUS_CHANGED = "order.status_changed"


class WebhookRegistration(BaseModel):
    """Where the partner wants its webhooks."""

    model_config = ConfigDict(extra="forbid")

    callback_url: str = Field(max_length=2000, examples=["https://hooks.partner.example/ledger"])


class WebhookEndpoint(BaseModel):
    """The partner's callback URL and the secret its webhooks are signed with."""

    callback_url: str
    signing_secret: str


class OrderSubmission(BaseModel):
    """An order captured in the CRM that the partner sends through order-to-cash."""

    model_config = ConfigDict(extra="forbid")

    crm_order_id: str = Field(pattern=CRM_ID, examples=["801000000000001AAA"])
    partner_reference: str | None = Field(default=None, max_length=80, examples=["PO-2291"])


class PartnerOrder(BaseModel):
    """Where a partner's order stands."""

    crm_order_id: str
    partner_reference: str | None
    state: str
    status: str
    erp_order_number: str | None
    submitted_at: datetime
    updated_at: datetime


class DeliveryAttempt(BaseModel):
    """One try at delivering a webhook."""

    at: datetime
    status_code: int | None
    error: str | None


class WebhookDelivery(BaseModel):
    """One webhook event and the tries at delivering it."""

    event_id: str
    event: str
    url: str
    payload: dict[str, Any]
    delivered: bool
    attempts: list[DeliveryAttempt]


class WebhookDeliveries(BaseModel):
    """One page of an order's webhooks, oldest first."""

    items: list[WebhookDelivery]
    next_cursor: str | None = None


class PartnerClient(ApiClient):
    """What a partner system calls; ``http`` must send ``X-Partner-Id``."""

    base_path = "/experience/partner/v1"

    async def register_webhook(self, callback_url: str) -> WebhookEndpoint:
        """Set the callback URL; the signing secret stays the same across changes."""
        body = WebhookRegistration(callback_url=callback_url).model_dump()
        return await self._call("PUT", "/webhook", WebhookEndpoint, json=body)

    async def submit(self, submission: OrderSubmission, *, idempotency_key: str) -> PartnerOrder:
        """Send an order through order-to-cash; the same key again replays the answer."""
        return await self._call(
            "POST",
            "/orders",
            PartnerOrder,
            json=submission.model_dump(),
            headers={"Idempotency-Key": idempotency_key},
        )

    async def order(self, crm_order_id: str) -> PartnerOrder:
        """Where one of the partner's orders stands."""
        return await self._call("GET", f"/orders/{quote(crm_order_id)}", PartnerOrder)
