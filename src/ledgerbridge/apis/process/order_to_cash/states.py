"""The states of an order-to-cash case, the order they come in, and what each shows outside.

A clean order walks the happy path from ``captured`` to ``closed``. A credit block turns it
aside to ``referred`` until a reviewer approves (back to the path) or rejects it
(``rejected``). ``cancelled`` and ``failed`` end a case off the path. Every move is forward:
an observation that would take a case back to a state it has passed changes nothing, which
is what makes duplicate and out-of-order ERP observations harmless.
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    """Where a case stands in the saga."""

    CAPTURED = "captured"
    VALIDATED = "validated"
    CUSTOMER_SYNCED = "customer_synced"
    CREDIT_CHECKED = "credit_checked"
    ERP_ORDER_CREATED = "erp_order_created"
    FULFILLED = "fulfilled"
    INVOICED = "invoiced"
    INVOICE_SENT = "invoice_sent"
    PAID = "paid"
    CLOSED = "closed"
    REFERRED = "referred"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


HAPPY_PATH: tuple[CaseState, ...] = (
    CaseState.CAPTURED,
    CaseState.VALIDATED,
    CaseState.CUSTOMER_SYNCED,
    CaseState.CREDIT_CHECKED,
    CaseState.ERP_ORDER_CREATED,
    CaseState.FULFILLED,
    CaseState.INVOICED,
    CaseState.INVOICE_SENT,
    CaseState.PAID,
    CaseState.CLOSED,
)
TERMINAL = frozenset({CaseState.CLOSED, CaseState.REJECTED, CaseState.CANCELLED, CaseState.FAILED})
# States the ERP moves on; the advancer watches cases in them.
WATCHED = frozenset(
    {
        CaseState.REFERRED,
        CaseState.CREDIT_CHECKED,
        CaseState.ERP_ORDER_CREATED,
        CaseState.FULFILLED,
        CaseState.INVOICED,
        CaseState.INVOICE_SENT,
        CaseState.PAID,
    }
)
# The start of the saga is done once the ERP order exists (blocked or not). A case rests in
# credit_checked only after a reviewer approved it (the start passes it in one transaction).
STARTED = WATCHED | TERMINAL

# The order status the rest of the house reads (canonical OrderStatus values, plus
# "running" while the first steps are under way).
STATUS_OF: dict[CaseState, str] = {
    CaseState.CAPTURED: "running",
    CaseState.VALIDATED: "running",
    CaseState.CUSTOMER_SYNCED: "running",
    CaseState.CREDIT_CHECKED: "running",
    CaseState.ERP_ORDER_CREATED: "in_erp",
    CaseState.FULFILLED: "fulfilled",
    CaseState.INVOICED: "invoiced",
    CaseState.INVOICE_SENT: "invoiced",
    CaseState.PAID: "paid",
    CaseState.CLOSED: "closed",
    CaseState.REFERRED: "credit_hold",
    CaseState.REJECTED: "cancelled",
    CaseState.CANCELLED: "cancelled",
    CaseState.FAILED: "failed",
}


def path_between(current: CaseState, target: CaseState) -> list[CaseState]:
    """The happy-path states after ``current`` up to ``target``; empty when not forward."""
    if current not in HAPPY_PATH or target not in HAPPY_PATH:
        return []
    start, end = HAPPY_PATH.index(current), HAPPY_PATH.index(target)
    return list(HAPPY_PATH[start + 1 : end + 1])
