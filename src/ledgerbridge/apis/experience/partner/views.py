"""Routes of the partner Experience API: submission, status and signed webhooks.

After a submission the order's case is watched in the background (see ``case_watch``) and
each change of its state or status becomes one webhook to the partner's callback URL.
Partners, their orders and the delivery log live in this process's memory: a restart
forgets them (the Idempotency-Keys are in the store and survive).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Path, status
from fastapi.exceptions import RequestValidationError
from starlette.types import Scope

from ledgerbridge.apis.experience.case_watch import watch_case
from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.offset_cursor import next_cursor
from ledgerbridge.apis.experience.partner.callbacks import CallbackRefused, check_callback_url
from ledgerbridge.apis.experience.partner.client import (
    CRM_ID,
    PARTNER_HEADER,
    PARTNER_ID_PATTERN,
    STATUS_CHANGED,
    DeliveryAttempt,
    OrderSubmission,
    PartnerOrder,
    WebhookDeliveries,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookRegistration,
)
from ledgerbridge.apis.experience.partner.webhooks import Delivery, deliver
from ledgerbridge.apis.process.order_to_cash.client import OrderCase, OrderToCashClient
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.errors import Conflict, LedgerbridgeError, NotFound
from ledgerbridge.runtime.idempotency import IdempotencyPolicy, install_idempotency
from ledgerbridge.runtime.paging import Cursor, Limit, offset_of
from ledgerbridge.runtime.security import velocity_rule

API = ApiMetadata(
    name="partner",
    layer=Layer.EXPERIENCE,
    version=1,
    owner="b2b-integration",
    summary="B2B order submission with Idempotency-Key, status queries and signed webhooks.",
    scopes=("partner:orders",),
    calls=("order-to-cash",),
)

# A velocity rule on submissions: a partner's burst beyond this many a minute is refused (429).
ORDERS_PER_MINUTE = 30


def _partner_id(
    named: Annotated[
        str | None,
        Header(
            alias=PARTNER_HEADER,
            pattern=PARTNER_ID_PATTERN,
            description=(
                "The partner. Optional: with authentication on it comes from the access "
                "token's partner_id claim, and naming another partner is refused (403); "
                "without authentication the API gateway in front sets it."
            ),
        ),
    ] = None,
) -> str:
    """The calling partner: the header, which the guard sets from the token when absent."""
    if named is None:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", PARTNER_HEADER),
                    "msg": "no partner: send a partner token or the header",
                    "type": "missing",
                }
            ]
        )
    return named


PartnerId = Annotated[str, Depends(_partner_id)]


@dataclass
class _Order:
    submission: OrderSubmission
    submitted_at: datetime
    case: OrderCase
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class _Partner:
    secret: str
    callback_url: str | None = None
    orders: dict[str, _Order] = field(default_factory=dict)


def _partner_of(scope: Scope) -> str:
    """Idempotency-Keys are scoped by partner."""
    for name, value in scope["headers"]:
        if name == PARTNER_HEADER.lower().encode():
            return f"partner:{value.decode()}"
    return "anonymous"


def _view(order: _Order) -> PartnerOrder:
    return PartnerOrder(
        crm_order_id=order.case.crm_order_id,
        partner_reference=order.submission.partner_reference,
        state=order.case.state,
        status=order.case.status,
        erp_order_number=order.case.erp_order_number,
        submitted_at=order.submitted_at,
        updated_at=order.case.updated_at,
    )


def create_app(deps: ExperienceDeps) -> FastAPI:
    """Build partner v1 on the Experience layer's dependencies."""
    order_to_cash = OrderToCashClient(deps.process)
    partners: dict[str, _Partner] = {}
    owners: dict[str, str] = {}  # CRM order id -> the partner that submitted it
    router = APIRouter()

    def partner(partner_id: str) -> _Partner:
        return partners.setdefault(partner_id, _Partner(secret=secrets.token_urlsafe(32)))

    def own_order(partner_id: str, crm_order_id: str) -> _Order:
        found = partners.get(partner_id)
        order = found.orders.get(crm_order_id) if found is not None else None
        if order is None:
            # Another partner's order is as unknown as one that does not exist.
            raise NotFound(f"no order {crm_order_id} submitted by {partner_id}", backend="partner")
        return order

    async def notify(partner_id: str, order: _Order) -> None:
        """Watch the order's case; one webhook per change, in order."""
        account = partners[partner_id]
        crm_order_id = order.case.crm_order_id
        async for case in watch_case(order_to_cash, crm_order_id, interval=deps.watch_interval):
            order.case = case
            if account.callback_url is None:
                continue
            delivery = Delivery(
                event_id=str(uuid.uuid4()),
                event=STATUS_CHANGED,
                url=account.callback_url,
                payload={
                    "event": STATUS_CHANGED,
                    "occurred_at": case.updated_at.isoformat(),
                    "order": _view(order).model_dump(mode="json"),
                },
            )
            order.deliveries.append(delivery)
            await deliver(
                deps.webhooks, delivery, secret=account.secret, first_wait=deps.webhook_retry_wait
            )

    @router.put("/webhook")
    async def register_webhook(
        registration: WebhookRegistration, partner_id: PartnerId
    ) -> WebhookEndpoint:
        """Set where this partner's webhooks go; HTTPS to a public host only."""
        try:
            url = check_callback_url(
                registration.callback_url, allowed_domains=deps.webhook_domains
            )
        except CallbackRefused as exc:
            raise RequestValidationError(
                [{"loc": ("body", "callback_url"), "msg": str(exc), "type": "value_error"}]
            ) from exc
        account = partner(partner_id)
        account.callback_url = url
        return WebhookEndpoint(callback_url=url, signing_secret=account.secret)

    @router.post(
        "/orders",
        status_code=status.HTTP_202_ACCEPTED,
        dependencies=[
            Depends(
                velocity_rule(
                    "partner-orders",
                    limit=ORDERS_PER_MINUTE,
                    per_seconds=60,
                    key=lambda request: request.headers.get(PARTNER_HEADER, ""),
                )
            )
        ],
    )
    async def submit_order(submission: OrderSubmission, partner_id: PartnerId) -> PartnerOrder:
        """Send an order captured in the CRM through order-to-cash; needs an Idempotency-Key.
        Each later change of state or status is sent to the partner's callback URL."""
        owner = owners.get(submission.crm_order_id)
        if owner is not None and owner != partner_id:
            raise Conflict(
                f"order {submission.crm_order_id} was submitted by another partner",
                backend="partner",
            )
        account = partner(partner_id)
        if (known := account.orders.get(submission.crm_order_id)) is not None:
            return _view(known)
        case = await order_to_cash.start(submission.crm_order_id)
        order = _Order(submission=submission, submitted_at=datetime.now(UTC), case=case)
        account.orders[submission.crm_order_id] = order
        owners[submission.crm_order_id] = partner_id
        deps.background.spawn(
            notify(partner_id, order), name=f"partner {partner_id} order {case.crm_order_id}"
        )
        return _view(order)

    @router.get("/orders/{crm_order_id}")
    async def get_order(
        partner_id: PartnerId, crm_order_id: str = Path(pattern=CRM_ID)
    ) -> PartnerOrder:
        """Where one of this partner's orders stands."""
        order = own_order(partner_id, crm_order_id)
        order.case = await order_to_cash.get_case(crm_order_id)
        return _view(order)

    @router.get("/orders/{crm_order_id}/webhooks")
    async def list_deliveries(
        partner_id: PartnerId,
        crm_order_id: str = Path(pattern=CRM_ID),
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> WebhookDeliveries:
        """The webhooks sent for one of this partner's orders, oldest first, with every
        delivery try."""
        order = own_order(partner_id, crm_order_id)
        offset = offset_of(cursor)
        window = order.deliveries[offset : offset + limit]
        items = [
            WebhookDelivery(
                event_id=delivery.event_id,
                event=delivery.event,
                url=delivery.url,
                payload=delivery.payload,
                delivered=delivery.delivered,
                attempts=[
                    DeliveryAttempt(at=a.at, status_code=a.status_code, error=a.error)
                    for a in delivery.attempts
                ],
            )
            for delivery in window
        ]
        return WebhookDeliveries(
            items=items, next_cursor=next_cursor(offset, limit, len(order.deliveries))
        )

    if deps.store is None:
        raise LedgerbridgeError("the partner API keeps its Idempotency-Keys in the store")
    app = build_api(API, routers=[router])
    install_idempotency(
        app, engine=deps.store.engine, policy=IdempotencyPolicy(required=True, client=_partner_of)
    )
    return app
