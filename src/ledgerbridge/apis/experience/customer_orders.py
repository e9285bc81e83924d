"""A customer's own orders, and nobody else's: the one place that decides what a customer sees.

Both the customer-portal API and the portal page ask here, so the rule cannot drift between
them: an order whose case belongs to another customer is answered exactly as one that does
not exist (404), so its existence does not leak either.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from ledgerbridge.apis.experience.case_watch import watch_case
from ledgerbridge.apis.process.order_to_cash.client import OrderCase, OrderToCashClient
from ledgerbridge.runtime.errors import NotFound

# Order statuses in the words a customer reads.
STATUS_LABELS = {
    "running": "We are processing your order",
    "in_erp": "Order confirmed",
    "credit_hold": "Order under review",
    "fulfilled": "Shipped",
    "invoiced": "Invoiced",
    "paid": "Paid, thank you",
    "closed": "Completed",
    "cancelled": "Cancelled",
    "failed": "Processing delayed, we are on it",
}


# The saga's steps a customer is told about, in their words.
STATE_LABELS = {
    "captured": "Order received",
    "credit_checked": "Credit approved",
    "erp_order_created": "Order confirmed",
    "referred": "Order under review",
    "fulfilled": "Shipped",
    "invoiced": "Invoiced",
    "invoice_sent": "Invoice sent",
    "paid": "Paid, thank you",
    "closed": "Completed",
    "rejected": "Cancelled",
    "cancelled": "Cancelled",
    "failed": "Processing delayed, we are on it",
}


def status_label(status: str) -> str:
    """What the customer reads for ``status``."""
    return STATUS_LABELS.get(status, status)


# Cases read, newest first, when listing a customer's orders (the Process layer does not
# filter by customer yet, so the list is built from the newest cases).
SCAN_LIMIT = 1000


async def own_case(
    order_to_cash: OrderToCashClient, customer_crm_id: str, order_id: str
) -> OrderCase:
    """The case of ``order_id`` if it is ``customer_crm_id``'s order; NotFound otherwise."""
    case = await order_to_cash.get_case(order_id)
    if case.customer_crm_id != customer_crm_id:
        raise NotFound(f"no order {order_id} for this customer", backend="customer-portal")
    return case


async def cases_of(order_to_cash: OrderToCashClient, customer_crm_id: str) -> list[OrderCase]:
    """The customer's cases among the newest ``SCAN_LIMIT``, newest first."""
    found: list[OrderCase] = []
    cursor: str | None = None
    read = 0
    while read < SCAN_LIMIT:
        page = await order_to_cash.list_cases(limit=200, cursor=cursor)
        read += len(page.items)
        found += [case for case in page.items if case.customer_crm_id == customer_crm_id]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return found


def state_label(state: str) -> str:
    """What the customer reads for a step the order reached."""
    return STATE_LABELS.get(state, state.replace("_", " "))


def moves(case: OrderCase) -> list[dict[str, str]]:
    """The steps the order reached, oldest first, as the page and its events show them."""
    return [
        {
            "key": f"{move.state}@{move.at.isoformat()}",
            "state": move.state,
            "label": state_label(move.state),
            "at": move.at.isoformat(),
        }
        for move in case.timeline
        if move.state in STATE_LABELS
    ]


async def status_events(
    order_to_cash: OrderToCashClient, case: OrderCase, *, interval: float
) -> AsyncIterator[str]:
    """Server-sent events of one order: a ``status`` event for every step it reaches (the
    steps so far first), each naming the order's current status, then ``end`` once it is
    finished.

    Steps come from the case's timeline, so none is missed when several happen between two
    looks at the case.
    """
    sent: set[str] = set()
    async for current in watch_case(order_to_cash, case.crm_order_id, interval=interval):
        for move in moves(current):
            if move["key"] in sent:
                continue
            sent.add(move["key"])
            data = {
                **move,
                "order_id": current.crm_order_id,
                "status": current.status,
                "status_label": status_label(current.status),
                "erp_order_number": current.erp_order_number,
            }
            yield f"event: status\ndata: {json.dumps(data)}\n\n"
    yield "event: end\ndata: {}\n\n"
