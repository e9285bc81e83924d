"""Watching one order-to-cash case for changes, for consumers that are pushed to.

The Process layer publishes its cases over HTTP; until it offers a change feed, a watcher
reads the case every ``interval`` seconds on the server and yields each new version, so the
pages and partners it serves are pushed changes and never poll themselves::

    async for case in watch_case(order_to_cash, order_id, interval=1.0):
        await send(case.status)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ledgerbridge.apis.process.order_to_cash.client import OrderCase, OrderToCashClient

# Saga states after which a case does not move any more. A failed case is not among them:
# a reviewer may still retry it.
FINAL_STATES = frozenset({"closed", "rejected", "cancelled"})


def is_final(case: OrderCase) -> bool:
    """Whether ``case`` has reached an end."""
    return case.state in FINAL_STATES


async def watch_case(
    order_to_cash: OrderToCashClient, crm_order_id: str, *, interval: float
) -> AsyncIterator[OrderCase]:
    """Yield the case now, then each time its state or status changes, until it ends.

    Errors from the Process layer propagate: the caller decides whether to retry or stop.
    """
    seen: tuple[str, str] | None = None
    while True:
        case = await order_to_cash.get_case(crm_order_id)
        if (case.state, case.status) != seen:
            seen = (case.state, case.status)
            yield case
        if is_final(case):
            return
        await asyncio.sleep(interval)
