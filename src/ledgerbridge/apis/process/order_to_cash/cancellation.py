"""Cancelling a case: its effects are undone in reverse order, each once, then it ends.

An invoiced order first has its invoice cancelled in the ERP (a cancellation document that
clears the receivable: the credit memo of this ERP), then its sales order. A paid invoice
cannot be cancelled, so neither can a paid order.
"""

from __future__ import annotations

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash import reviews, service, store
from ledgerbridge.apis.process.order_to_cash.client import CancelOrder, OrderCase
from ledgerbridge.apis.process.order_to_cash.states import CaseState
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.runtime.errors import Conflict

CANCEL_INVOICE = "cancel-invoice"
CANCEL_ERP_ORDER = "cancel-erp-order"
_FINAL = frozenset({CaseState.PAID, CaseState.CLOSED, CaseState.REJECTED})
_INVOICED = frozenset({CaseState.INVOICED, CaseState.INVOICE_SENT})
# A move can lose a race with the advancer; the case is read again and the cancel retried.
_ATTEMPTS = 3


async def cancel(deps: ProcessDeps, crm_order_id: str, request: CancelOrder) -> OrderCase:
    """Cancel the case of a CRM order; a repeat returns it cancelled, unchanged."""
    for _ in range(_ATTEMPTS):
        case = await service.get_case(deps, crm_order_id)
        state = CaseState(case.state)
        if state is CaseState.CANCELLED:
            return case
        if state in _FINAL:
            raise Conflict(
                f"order {crm_order_id} is {state} and cannot be cancelled", backend="store"
            )
        if case.status == store.RUNNING:
            raise service.CaseBusy(f"order {crm_order_id} is being processed", backend="store")
        if state in _INVOICED and case.invoice_erp_number is not None:
            await _cancel_invoice(deps, case.case_id, case.invoice_erp_number)
        if await _end(deps, case, state, request):
            return await service.get_case(deps, crm_order_id)
    raise service.CaseBusy(f"order {crm_order_id} kept moving; try again", backend="store")


async def _cancel_invoice(deps: ProcessDeps, case_id: str, invoice_erp_number: str) -> None:
    """Cancel the invoice in the ERP (idempotent there) and record it once on the case."""
    invoice = await ErpBillingDocumentsClient(deps.system).cancel_invoice(invoice_erp_number)
    async with deps.store.engine.begin() as conn:
        case = await store.load_case_by_id(conn, case_id)
        assert case is not None
        if not any(s.name == CANCEL_INVOICE and s.outcome == "ok" for s in case.steps):
            await store.record_step(
                conn,
                case_id,
                CANCEL_INVOICE,
                "ok",
                f"invoice {invoice.erp_number} {invoice.status}",
            )


async def _end(deps: ProcessDeps, case: OrderCase, state: CaseState, request: CancelOrder) -> bool:
    """Move the case to cancelled with its compensation and event; False if it moved on."""
    reason = f"cancelled by {request.actor}" + (f": {request.reason}" if request.reason else "")
    async with deps.store.engine.begin() as conn:
        moved = await store.move(
            conn,
            case.case_id,
            expected=[state],
            to=CaseState.CANCELLED,
            detail=reason,
            event=store.Event(
                "order.cancelled",
                {
                    "crm_order_id": case.crm_order_id,
                    "erp_order_number": case.erp_order_number,
                    "invoice_erp_number": case.invoice_erp_number,
                    "reason": request.reason,
                },
            ),
        )
        if not moved:
            return False
        if case.erp_order_number is not None:
            # erp-sales-orders offers no cancellation yet; the step says so on the case.
            await store.record_step(
                conn,
                case.case_id,
                CANCEL_ERP_ORDER,
                "skipped",
                f"sales order {case.erp_order_number}: erp-sales-orders offers no cancellation",
            )
        for item in await reviews.open_reviews_of(conn, case.case_id):
            await reviews.resolve_review(
                conn,
                item.review_id,
                reviews.ReviewStatus.REJECTED,
                actor=request.actor,
                note="the order was cancelled",
            )
    return True
