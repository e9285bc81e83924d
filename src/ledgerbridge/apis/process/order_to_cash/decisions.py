"""What a reviewer decides on a queued case: approve, reject or retry; each resumes the saga.

A decision is taken once (the item is resolved by compare-and-set); repeating the same
decision returns the item as it stands, a different one on a resolved item is a 409.
"""

from __future__ import annotations

import contextlib

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash import cancellation, reviews, service, store
from ledgerbridge.apis.process.order_to_cash.cancellation import CANCEL_ERP_ORDER
from ledgerbridge.apis.process.order_to_cash.client import CancelOrder, ReviewDecision, ReviewItem
from ledgerbridge.apis.process.order_to_cash.reviews import ReviewKind, ReviewStatus
from ledgerbridge.apis.process.order_to_cash.states import CaseState
from ledgerbridge.runtime.errors import Conflict, LedgerbridgeError, NotFound


async def _open_item(deps: ProcessDeps, review_id: str, action: str) -> ReviewItem | None:
    """The item to act on; None when this decision was taken already."""
    async with deps.store.engine.connect() as conn:
        item = await reviews.get_review(conn, review_id)
    if item is None:
        raise NotFound(f"no review item {review_id}", backend="store")
    done = {"approve": ReviewStatus.APPROVED, "reject": ReviewStatus.REJECTED}
    if item.status == done.get(action, ReviewStatus.RETRIED):
        return None
    if item.status != ReviewStatus.OPEN:
        raise Conflict(f"review item {review_id} is {item.status} already", backend="store")
    if action not in item.actions:
        raise Conflict(f"a {item.kind} review allows {', '.join(item.actions)}", backend="store")
    return item


async def _reload(deps: ProcessDeps, review_id: str) -> ReviewItem:
    async with deps.store.engine.connect() as conn:
        item = await reviews.get_review(conn, review_id)
    assert item is not None
    return item


async def approve(deps: ProcessDeps, review_id: str, decision: ReviewDecision) -> ReviewItem:
    """Approve a credit referral: the case is credit checked and goes on once the ERP
    releases the order's block (the advancer watches for it). Approving an overdue case
    lets it wait on."""
    item = await _open_item(deps, review_id, "approve")
    if item is not None and item.kind == ReviewKind.TIMEOUT:
        async with deps.store.engine.begin() as conn:
            await reviews.resolve_review(
                conn, review_id, ReviewStatus.APPROVED, actor=decision.actor, note=decision.note
            )
    elif item is not None:
        async with deps.store.engine.begin() as conn:
            if await reviews.resolve_review(
                conn, review_id, ReviewStatus.APPROVED, actor=decision.actor, note=decision.note
            ):
                await store.move(
                    conn,
                    item.case_id,
                    expected=[CaseState.REFERRED],
                    to=CaseState.CREDIT_CHECKED,
                    detail=f"credit approved by {decision.actor}",
                    status="credit_hold",
                )
    return await _reload(deps, review_id)


async def reject(deps: ProcessDeps, review_id: str, decision: ReviewDecision) -> ReviewItem:
    """Reject a queued case: it ends rejected, and its ERP order is compensated. Rejecting
    an overdue case cancels the order, with its compensations."""
    item = await _open_item(deps, review_id, "reject")
    if item is not None and item.kind == ReviewKind.TIMEOUT:
        async with deps.store.engine.begin() as conn:
            resolved = await reviews.resolve_review(
                conn, review_id, ReviewStatus.REJECTED, actor=decision.actor, note=decision.note
            )
        if resolved:
            request = CancelOrder(actor=decision.actor, reason=decision.note)
            await cancellation.cancel(deps, item.crm_order_id, request)
    elif item is not None:
        async with deps.store.engine.begin() as conn:
            ref = await store.load_ref(conn, item.case_id)
            assert ref is not None
            if await reviews.resolve_review(
                conn, review_id, ReviewStatus.REJECTED, actor=decision.actor, note=decision.note
            ):
                moved = await store.move(
                    conn,
                    item.case_id,
                    expected=[CaseState.REFERRED, CaseState.FAILED],
                    to=CaseState.REJECTED,
                    detail=f"rejected by {decision.actor}",
                    event=store.Event(
                        "order.rejected",
                        {
                            "crm_order_id": ref.crm_order_id,
                            "erp_order_number": ref.erp_order_number,
                            "reason": decision.note,
                        },
                    ),
                )
                if moved and ref.erp_order_number is not None:
                    await store.record_step(
                        conn,
                        item.case_id,
                        CANCEL_ERP_ORDER,
                        "skipped",
                        _left_in_erp(item, ref.erp_order_number),
                    )
    return await _reload(deps, review_id)


def _left_in_erp(item: ReviewItem, erp_order_number: str) -> str:
    """What becomes of a rejected referral's ERP order: erp-sales-orders offers no
    cancellation yet. An order the ERP blocked stays blocked, so it is never delivered or
    billed; one it let through (credit verification referred it) needs cancelling there."""
    if item.figures.get(service.ERP_CREDIT_HOLD) == "false":
        return (
            f"sales order {erp_order_number} is open in the ERP, which did not block it, and "
            "erp-sales-orders offers no cancellation: cancel it in the ERP"
        )
    return (
        f"sales order {erp_order_number} stays blocked in the ERP: "
        "erp-sales-orders offers no cancellation"
    )


async def retry(deps: ProcessDeps, review_id: str, decision: ReviewDecision) -> ReviewItem:
    """Run a failed case again from the last state it reached, once the cause is fixed."""
    item = await _open_item(deps, review_id, "retry")
    if item is not None and item.kind == ReviewKind.FAILURE:
        async with deps.store.engine.begin() as conn:
            case = await store.load_case_by_id(conn, item.case_id)
            assert case is not None
            before = [t.state for t in case.timeline if t.state != CaseState.FAILED]
            if await reviews.resolve_review(
                conn, review_id, ReviewStatus.RETRIED, actor=decision.actor, note=decision.note
            ):
                await store.move(
                    conn,
                    item.case_id,
                    expected=[CaseState.FAILED],
                    to=CaseState(before[-1]),
                    detail=f"retried by {decision.actor}",
                    status=store.FAILED,
                )
            ref = await store.load_ref(conn, item.case_id)
        assert ref is not None
        # A new failure is on the case again, and queued again when lasting.
        with contextlib.suppress(LedgerbridgeError):
            await service.resume(deps, ref)
    return await _reload(deps, review_id)
