"""The start of the order-to-cash saga: capture, validate, sync the customer, create the ERP
order (the ERP runs its own credit check on it) and take credit-verification's decision.

Each state is reached by one committed move, and each side effect is safe to repeat: the
customer is found by its CRM id, the sales order by the CRM order id (its external reference,
and once created its number is kept on the case, so a resumed case reads it back instead of
posting again), and the CRM link is a plain overwrite. A case whose start failed for a
passing reason is run again from its last state by the advancer; one that failed for good
goes to the review queue.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import sqlalchemy as sa
import structlog

from ledgerbridge.apis.process.credit_verification.client import (
    CreditDecision,
    CreditDecisionRequest,
    CreditVerificationClient,
    Verdict,
)
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash import failures, reviews, store
from ledgerbridge.apis.process.order_to_cash.client import OrderCase
from ledgerbridge.apis.process.order_to_cash.failures import is_passing
from ledgerbridge.apis.process.order_to_cash.states import STARTED, CaseState
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.crm_orders.client import CrmOrdersClient
from ledgerbridge.apis.system.erp_customers.client import ErpCustomersClient
from ledgerbridge.apis.system.erp_sales_orders.client import ErpSalesOrdersClient
from ledgerbridge.canonical import Order, OrderStatus, SalesOrderState
from ledgerbridge.runtime.errors import BackendRejected, Conflict, LedgerbridgeError, NotFound
from ledgerbridge.runtime.store import find_link, link

ENSURE_CUSTOMER = "ensure-customer"
CREATE_SALES_ORDER = "create-sales-order"
LINK_CRM_ORDER = "link-crm-order"
# Review figure: whether the ERP holds the order (else the referral is credit verification's).
ERP_CREDIT_HOLD = "erp_credit_hold"
log = structlog.get_logger("ledgerbridge.order_to_cash")


class CaseBusy(Conflict):
    """Another request is running this order's case right now."""


class OrderInvalid(BackendRejected):
    """The CRM order cannot go through order-to-cash as it is."""


async def get_case(deps: ProcessDeps, crm_order_id: str) -> OrderCase:
    """The case of a CRM order, or NotFound."""
    async with deps.store.engine.connect() as conn:
        case = await store.load_case(conn, crm_order_id)
    if case is None:
        raise NotFound(f"no order-to-cash case for CRM order {crm_order_id}", backend="store")
    return case


async def run(deps: ProcessDeps, crm_order_id: str) -> tuple[OrderCase, bool]:
    """Run or resume the start of the saga for one CRM order; returns the case and whether
    it is new.

    The order is read and mapped before anything is written, so an unknown or unmappable
    order leaves no case behind.
    """
    order = await CrmOrdersClient(deps.system).get_order(crm_order_id)
    if order.customer_crm_id is None:
        raise NotFound(f"CRM order {crm_order_id} has no account", backend="salesforce")
    case_id, created = await _claim(deps, order)
    if case_id is not None:
        await _advance_guarded(deps, case_id, order)
    return await get_case(deps, crm_order_id), created


async def resume(deps: ProcessDeps, ref: store.CaseRef) -> None:
    """Run again the start of a case that stalled (an outage, or a worker that died)."""
    async with deps.store.engine.begin() as conn:
        if not await store.claim_case(conn, ref.case_id):
            return
    order = await CrmOrdersClient(deps.system).get_order(ref.crm_order_id)
    await _advance_guarded(deps, ref.case_id, order)


async def _claim(deps: ProcessDeps, order: Order) -> tuple[str | None, bool]:
    """Open or take over the case; (None, False) when its start is done already."""
    assert order.customer_crm_id is not None
    try:
        async with deps.store.engine.begin() as conn:
            existing = await store.load_case(conn, order.crm_id)
            if existing is None:
                case_id = await store.open_case(
                    conn,
                    order.crm_id,
                    order.customer_crm_id,
                    total=order.net_total.amount,
                    currency=order.currency,
                )
                try:
                    summary = _validate(order)
                except OrderInvalid:
                    return case_id, True  # the run records the failure on the case
                # The order is in hand: its validation commits with the case (one less
                # transaction on the way), its own move on the timeline all the same.
                await store.move(
                    conn,
                    case_id,
                    expected=[CaseState.CAPTURED],
                    to=CaseState.VALIDATED,
                    detail=summary,
                    status=store.RUNNING,
                )
                return case_id, True
            if CaseState(existing.state) in STARTED:
                return None, False
            if not await store.claim_case(conn, existing.case_id):
                raise CaseBusy(f"order {order.crm_id} is being processed", backend="store")
            return existing.case_id, False
    except sa.exc.IntegrityError as exc:  # a concurrent request opened it first
        raise CaseBusy(f"order {order.crm_id} is being processed", backend="store") from exc


async def _advance_guarded(deps: ProcessDeps, case_id: str, order: Order) -> None:
    try:
        await _advance(deps, case_id, order)
    except LedgerbridgeError as exc:
        await _failed(deps, case_id, exc)
        log.warning("order-to-cash step failed", crm_order_id=order.crm_id, error=exc.message)
        raise


async def _failed(deps: ProcessDeps, case_id: str, exc: LedgerbridgeError) -> None:
    """Keep a passing failure for a later retry; send a lasting one to the review queue."""
    error = exc.message
    async with deps.store.engine.begin() as conn:
        ref = await store.load_ref(conn, case_id)
        assert ref is not None
        if is_passing(exc):
            await store.record_step(
                conn, case_id, "failed", "retry", error, status=store.FAILED, last_error=error
            )
            return
        await store.record_step(conn, case_id, "failed", "failed", error)
        moved = await store.move(
            conn,
            case_id,
            expected=[ref.state],
            to=CaseState.FAILED,
            detail=error,
            event=store.Event("order.failed", {"crm_order_id": ref.crm_order_id, "error": error}),
            last_error=error,
        )
        if moved:
            figures = {"failed_after": ref.state.value, "error_type": type(exc).__name__}
            review_id = await reviews.open_review(
                conn, case_id, reviews.ReviewKind.FAILURE, error, figures
            )
            await failures.dead_letter_step(conn, ref, exc, review_id=review_id)


def _validate(order: Order) -> str:
    """A summary of ``order``; OrderInvalid when it cannot go through order-to-cash."""
    if order.status in {OrderStatus.CANCELLED, OrderStatus.CLOSED}:
        raise OrderInvalid(f"CRM order {order.crm_id} is {order.status}", backend="salesforce")
    if order.net_total.amount <= Decimal(0):
        raise OrderInvalid(
            f"CRM order {order.crm_id} totals {order.net_total}", backend="salesforce"
        )
    return f"{len(order.lines)} lines, {order.net_total}"


async def _advance(deps: ProcessDeps, case_id: str, order: Order) -> None:
    async with deps.store.engine.connect() as conn:
        ref = await store.load_ref(conn, case_id)
    assert ref is not None
    engine = deps.store.engine
    state = ref.state
    if state is CaseState.CAPTURED:
        summary = _validate(order)
        async with engine.begin() as conn:
            if not await store.move(
                conn,
                case_id,
                expected=[state],
                to=CaseState.VALIDATED,
                detail=summary,
                status=store.RUNNING,
            ):
                return  # cancelled meanwhile
        state = CaseState.VALIDATED
    customer_erp_id = ref.customer_erp_id
    if state is CaseState.VALIDATED:
        customer_erp_id, known = await _ensure_customer(deps, order)
        async with engine.begin() as conn:
            if not known:  # the crosswalk row commits with the move that relies on it
                assert order.customer_crm_id is not None
                await link(conn, "party", crm_id=order.customer_crm_id, erp_id=customer_erp_id)
            if not await store.move(
                conn,
                case_id,
                expected=[state],
                to=CaseState.CUSTOMER_SYNCED,
                detail=f"ERP customer {customer_erp_id}",
                status=store.RUNNING,
                customer_erp_id=customer_erp_id,
            ):
                return  # cancelled meanwhile
            await store.record_step(conn, case_id, ENSURE_CUSTOMER, "ok", customer_erp_id)
        state = CaseState.CUSTOMER_SYNCED
    if state is CaseState.CUSTOMER_SYNCED:
        assert customer_erp_id is not None
        sales_order = await _sales_order(deps, case_id, ref, order, customer_erp_id)
        assert sales_order.erp_number is not None
        # The CRM link (an overwrite) and the credit decision (idempotent by its key) need
        # nothing of each other: both run at once, and the case moves once both answered.
        linked, decided = await asyncio.gather(
            CrmOrdersClient(deps.system).link_erp_order(order.crm_id, sales_order.erp_number),
            _decide(deps, case_id, order, customer_erp_id, sales_order),
            return_exceptions=True,
        )
        if isinstance(linked, BaseException):
            raise linked
        if isinstance(decided, BaseException):
            async with engine.begin() as conn:
                await store.record_step(conn, case_id, LINK_CRM_ORDER, "ok", None)
            raise decided
        await _credit_decision(deps, case_id, order, customer_erp_id, sales_order, decided)


async def _sales_order(
    deps: ProcessDeps, case_id: str, ref: store.CaseRef, order: Order, customer_erp_id: str
) -> SalesOrderState:
    """The case's ERP sales order: read back when a run before created it, else created."""
    erp = ErpSalesOrdersClient(deps.system)
    if ref.erp_order_number is not None:
        return await erp.get_sales_order(ref.erp_order_number)
    sales_order = await erp.create_sales_order(
        order.model_copy(update={"customer_erp_id": customer_erp_id})
    )
    erp_number = sales_order.erp_number
    if erp_number is None:
        raise LedgerbridgeError(f"ERP returned no number for the order of {order.crm_id}")
    async with deps.store.engine.begin() as conn:
        await link(conn, "order", crm_id=order.crm_id, erp_id=erp_number)
        await store.record_step(
            conn,
            case_id,
            CREATE_SALES_ORDER,
            "ok",
            f"sales order {erp_number} ({sales_order.status})",
            erp_order_number=erp_number,
        )
    return sales_order


async def _decide(
    deps: ProcessDeps,
    case_id: str,
    order: Order,
    customer_erp_id: str,
    sales_order: SalesOrderState,
) -> tuple[CreditDecision | None, str]:
    """Credit-verification's decision on the order, or (when the ERP holds the order, which
    refers it anyway) None and why there is none."""
    held = sales_order.status is OrderStatus.CREDIT_HOLD
    try:
        decision = await CreditVerificationClient(deps.peers).decide(
            CreditDecisionRequest(
                customer_erp_id=customer_erp_id,
                amount=order.net_total,
                order_id=order.crm_id,
                erp_order_number=sales_order.erp_number,
            ),
            idempotency_key=f"order-to-cash:{case_id}:credit",
        )
    except LedgerbridgeError as exc:
        if not held:
            raise  # the order is not accepted without a decision
        # The ERP's block refers it anyway; the reviewer sees why the figures are missing.
        return None, exc.message
    return decision, ""


async def _credit_decision(
    deps: ProcessDeps,
    case_id: str,
    order: Order,
    customer_erp_id: str,
    sales_order: SalesOrderState,
    decided: tuple[CreditDecision | None, str],
) -> None:
    """Act on credit-verification's decision: an approved order the ERP does not hold moves
    on; any other goes to the review queue with the decision's reasons and figures. The CRM
    link's step commits with the move."""
    data = {
        "crm_order_id": order.crm_id,
        "erp_order_number": sales_order.erp_number,
        "customer_erp_id": customer_erp_id,
        "net_total": str(order.net_total.amount),
        "currency": order.currency,
    }
    held = sales_order.status is OrderStatus.CREDIT_HOLD
    decision, unavailable = decided
    if decision is not None and decision.verdict is Verdict.APPROVE and not held:
        async with deps.store.engine.begin() as conn:
            await store.record_step(conn, case_id, LINK_CRM_ORDER, "ok", None)
            await store.move(
                conn,
                case_id,
                expected=[CaseState.CUSTOMER_SYNCED],
                to=CaseState.CREDIT_CHECKED,
                detail=f"credit approved (decision {decision.decision_id})",
                status=store.RUNNING,
            )
            await store.move(
                conn,
                case_id,
                expected=[CaseState.CREDIT_CHECKED],
                to=CaseState.ERP_ORDER_CREATED,
                detail=f"sales order {sales_order.erp_number}",
                event=store.Event("order.accepted", data),
                last_error=None,
            )
        return
    figures = {"order_total": str(order.net_total), "customer_erp_id": customer_erp_id}
    figures[ERP_CREDIT_HOLD] = str(held).lower()
    if decision is None:
        figures["figures_unavailable"] = unavailable
    else:
        figures |= _decision_figures(decision)
    reason = _referral_reason(sales_order, figures, decision)
    async with deps.store.engine.begin() as conn:
        await store.record_step(conn, case_id, LINK_CRM_ORDER, "ok", None)
        moved = await store.move(
            conn,
            case_id,
            expected=[CaseState.CUSTOMER_SYNCED],
            to=CaseState.REFERRED,
            detail=reason,
            event=store.Event("credit.referred", data | figures),
            last_error=None,
        )
        if moved:
            await reviews.open_review(conn, case_id, reviews.ReviewKind.CREDIT, reason, figures)


def _decision_figures(decision: CreditDecision) -> dict[str, str]:
    """What a credit reviewer needs of a decision: the verdict, the limit, the exposure, what
    is left and what is overdue."""
    used = decision.figures
    figures = {
        "decision_id": decision.decision_id,
        "verdict": decision.verdict.value,
        "account_blocked": str(used.account_blocked).lower(),
        "overdue_amount": str(used.overdue_amount),
        "overdue_items": str(used.overdue_items),
    }
    for name in ("credit_limit", "exposure", "available", "headroom_after"):
        if (money := getattr(used, name)) is not None:
            figures[name] = str(money)
    return figures


def _referral_reason(
    sales_order: SalesOrderState, figures: dict[str, str], decision: CreditDecision | None
) -> str:
    because = "" if decision is None else "; ".join(r.message for r in decision.reasons)
    if sales_order.status is OrderStatus.CREDIT_HOLD:
        reason = (
            f"the ERP blocked sales order {sales_order.erp_number} for credit: "
            f"order {figures['order_total']} against {figures.get('available', 'unknown')} "
            "available"
        )
        return f"{reason} ({because})" if because else reason
    assert decision is not None
    return f"credit verification answered {decision.verdict}: {because}"


async def _ensure_customer(deps: ProcessDeps, order: Order) -> tuple[str, bool]:
    """The ERP id of the order's customer, creating the customer in the ERP when missing,
    and whether the crosswalk knew it already (else the caller links it)."""
    assert order.customer_crm_id is not None
    async with deps.store.engine.connect() as conn:
        known = await find_link(conn, "party", crm_id=order.customer_crm_id)
    if known is not None and known.erp_id is not None:
        return known.erp_id, True
    party = await CrmAccountsClient(deps.system).get_account(order.customer_crm_id)
    customer = await ErpCustomersClient(deps.system).ensure_customer(party)
    if customer.erp_id is None:
        raise LedgerbridgeError(f"ERP returned no id for customer {order.customer_crm_id}")
    return customer.erp_id, False
