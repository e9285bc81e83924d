"""Which failures of a step pass with time (run it again later) and which need a person, and
how a step that failed for good is kept on the Dead Letter Channel.

A passing failure is recorded on the case and the advancer runs the step again. A lasting
one (a record the ERP refuses, say) ends the case ``failed``, opens a failure review and is
stored as a step dead letter: the case, the step, what it ran on, the error, every attempt
the case made at its start and the correlation id of the request that ran it. Replaying the
dead letter retries the case through its review (order-to-cash's HTTP contract), which runs
the failed step again from the last state reached; every step is safe to repeat.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.order_to_cash import store
from ledgerbridge.apis.process.order_to_cash.states import CaseState
from ledgerbridge.runtime.context import correlation_id_var
from ledgerbridge.runtime.dead_letters import Kind, record_dead_letter
from ledgerbridge.runtime.errors import BackendUnavailable, LedgerbridgeError
from ledgerbridge.runtime.messaging import Attempt
from ledgerbridge.runtime.problems import UpstreamProblem

# The consumer step dead letters of this process are filed under.
PROCESS = "order-to-cash"
# The step a case runs from each state of its start (see `service`); from customer_synced it
# creates the ERP order, or, once that exists, links it in the CRM and takes the decision.
_STEP_FROM = {
    CaseState.CAPTURED: "validate-order",
    CaseState.VALIDATED: "ensure-customer",
    CaseState.CUSTOMER_SYNCED: "create-sales-order",
    CaseState.CREDIT_CHECKED: "create-sales-order",
}
_AFTER_ERP_ORDER = "link-crm-order"


def is_passing(exc: LedgerbridgeError) -> bool:
    """Whether ``exc`` is an outage (unreachable, 5xx, 429), or a 409 for an idempotency key
    whose first request is still running (or ran in a worker that died, and is released
    after the API's in-flight timeout), so the step is run again later."""
    if isinstance(exc, BackendUnavailable):
        return True
    if not isinstance(exc, UpstreamProblem):
        return False
    in_flight = exc.status == 409 and str(exc.body.get("type", "")).endswith("idempotency-key")
    return in_flight or exc.status >= 500 or exc.status == 429


def failed_step(ref: store.CaseRef) -> str:
    """The step of the saga's start that a case in ``ref.state`` was running."""
    if ref.erp_order_number is not None and ref.state is CaseState.CUSTOMER_SYNCED:
        return _AFTER_ERP_ORDER
    return _STEP_FROM.get(ref.state, ref.state.value)


async def dead_letter_step(
    conn: AsyncConnection, ref: store.CaseRef, exc: LedgerbridgeError, *, review_id: str
) -> str:
    """Keep the step a lasting failure stopped as a dead letter; returns its id.

    Call it in the transaction that ends the case ``failed`` (after its failure is recorded
    as a step), so both commit or neither. The same step failing again after a replay
    reopens its dead letter, with the new attempts added.
    """
    step = failed_step(ref)
    rows = await conn.execute(
        sa.select(store.steps.c.outcome, store.steps.c.detail, store.steps.c.at)
        .where(store.steps.c.case_id == ref.case_id, store.steps.c.name == "failed")
        .order_by(store.steps.c.step_id)
    )
    tried = rows.all()
    attempts = [
        Attempt(
            number=number,
            error=row.detail or "",
            error_type="passing" if row.outcome == "retry" else "lasting",
            at=row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC),
        )
        for number, row in enumerate(tried, start=1)
    ]
    # The last row is this failure: it carries the error's own type.
    last = Attempt(
        number=len(tried) or 1,
        error=exc.message,
        error_type=type(exc).__name__,
        at=attempts[-1].at if attempts else datetime.now(UTC),
    )
    attempts[-1:] = [last]
    return await record_dead_letter(
        conn,
        kind=Kind.STEP,
        source=step,
        consumer=PROCESS,
        message_id=f"{ref.case_id}:{step}",
        payload={
            "case_id": ref.case_id,
            "crm_order_id": ref.crm_order_id,
            "step": step,
            "state": ref.state.value,
            "customer_crm_id": ref.customer_crm_id,
            "customer_erp_id": ref.customer_erp_id,
            "erp_order_number": ref.erp_order_number,
            "review_id": review_id,
            "backend": getattr(exc, "backend", None),
        },
        reason="permanent error",
        attempts=attempts,
        correlation_id=exc.correlation_id or correlation_id_var.get(),
        case_id=ref.case_id,
    )
