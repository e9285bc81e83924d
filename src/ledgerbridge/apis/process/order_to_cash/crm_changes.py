"""Order-to-cash started and cancelled by the CRM: the consumer of the crm-orders System API's
``crm.order.activated`` and ``crm.order.cancelled`` messages (its Change Data Capture bridge).

An activation takes the path of ``POST /orders``: the case is started, or resumed, or left
alone when its start is done (read from the store, before any call to the CRM). A
cancellation takes the path of the cancellation route: an unpaid invoice is cancelled in the
ERP, then the sales order, and the case ends cancelled.

Each message is handled once (the inbox), and a message that is no longer true changes
nothing: an activation is checked against the order's Status in the CRM now, so one that
arrives after the order's cancellation starts no case; a cancellation of an order that has no
case, or whose case has ended cancelled or rejected, is a no-op. Errors follow the bus's
rules: a passing one (a backend down, the case in another worker's hands) is retried, a
permanent one (a paid order cannot be cancelled) goes to the dead letters. Once an activation
has opened the case, a failing step is the case's: the advancer retries it (or the case's
step dead letter keeps it), and the message is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash import cancellation, service, store
from ledgerbridge.apis.process.order_to_cash.client import CancelOrder
from ledgerbridge.apis.process.order_to_cash.states import STARTED, CaseState
from ledgerbridge.apis.system.crm_orders.client import (
    ORDER_ACTIVATED,
    ORDER_CANCELLED,
    CrmOrdersClient,
    OrderStatusChanged,
)
from ledgerbridge.canonical import OrderStatus
from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.messaging import (
    Delivery,
    EventBus,
    Handler,
    Subscription,
    already_consumed,
    consumed_once,
)

log = structlog.get_logger("ledgerbridge.process.order_to_cash.crm_changes")
CONSUMER = "process.order-to-cash.crm-orders"
# The bus groups of the two subscriptions (one queue or durable consumer each).
ACTIVATED_GROUP = f"{CONSUMER}.activated"
CANCELLED_GROUP = f"{CONSUMER}.cancelled"
ACTOR = "crm"
_ENDED = frozenset({CaseState.CANCELLED, CaseState.REJECTED})


class CaseInHand(Exception):
    """The case is being moved by someone else right now; the message is tried again later."""


async def activated(deps: ProcessDeps, crm_order_id: str) -> str:
    """Start or resume the case of an order activated in the CRM; what was done."""
    async with deps.store.engine.connect() as conn:
        known = await store.load_case(conn, crm_order_id)
    if known is not None and CaseState(known.state) in STARTED:
        # Its start is done (the API started it, or an earlier activation): nothing to do, and
        # no call to the CRM, whose API calls are metered.
        return f"skipped: the case is {known.state}"
    order = await CrmOrdersClient(deps.system).get_order(crm_order_id)
    if order.status is not OrderStatus.ACTIVATED:
        return f"skipped: the order is {order.status} in the CRM now"
    try:
        case, created = await service.run(deps, crm_order_id)
    except service.CaseBusy:
        # Someone else holds the case (an API request, the advancer): it is started.
        return "skipped: the case is being run"
    except LedgerbridgeError as exc:
        # A step failed once the case was open: the case keeps the failure (the advancer runs
        # a passing one again, a lasting one is dead-lettered as the case's step), so the
        # message has done its part. Only a failure before the case exists is retried here.
        async with deps.store.engine.connect() as conn:
            opened = await store.load_case(conn, crm_order_id)
        if opened is None:
            raise
        return f"started, the saga takes over its failed step ({exc.message}): {opened.state}"
    return f"{'started' if created else 'resumed'}: {case.state}"


async def cancelled(deps: ProcessDeps, crm_order_id: str) -> str:
    """Cancel the case of an order cancelled in the CRM (compensating); what was done."""
    async with deps.store.engine.connect() as conn:
        case = await store.load_case(conn, crm_order_id)
    if case is None:
        return "skipped: no case"
    if CaseState(case.state) in _ENDED:
        return f"skipped: the case is {case.state}"
    request = CancelOrder(actor=ACTOR, reason="the order was cancelled in the CRM")
    try:
        ended = await cancellation.cancel(deps, crm_order_id, request)
    except service.CaseBusy as exc:
        raise CaseInHand(str(exc)) from exc
    return f"cancelled: {ended.state}"


def _handler(deps: ProcessDeps, act: Callable[[ProcessDeps, str], Awaitable[str]]) -> Handler:
    async def handle(delivery: Delivery) -> None:
        message = delivery.message
        async with deps.store.engine.connect() as conn:
            if await already_consumed(conn, CONSUMER, message.id):
                return
        change = OrderStatusChanged.model_validate(message.data)
        outcome = await act(deps, change.crm_order_id)
        async with deps.store.engine.begin() as conn:
            await consumed_once(conn, CONSUMER, message.id)
        log.info(
            "crm order change handled",
            topic=delivery.topic,
            crm_order_id=change.crm_order_id,
            outcome=outcome,
        )

    return handle


async def consume_crm_order_changes(bus: EventBus, deps: ProcessDeps) -> list[Subscription]:
    """Subscribe the consumer to ``crm.order.activated`` and ``crm.order.cancelled``."""
    return [
        await bus.subscribe(ORDER_ACTIVATED, _handler(deps, activated), group=ACTIVATED_GROUP),
        await bus.subscribe(ORDER_CANCELLED, _handler(deps, cancelled), group=CANCELLED_GROUP),
    ]


__all__ = [
    "ACTIVATED_GROUP",
    "CANCELLED_GROUP",
    "CONSUMER",
    "CaseInHand",
    "activated",
    "cancelled",
    "consume_crm_order_changes",
]
