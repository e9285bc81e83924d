"""Cash application: an incoming payment is matched to the customer's open invoices and
posted in the ERP against each, which clears what it pays in full.

The ERP takes one invoice per incoming payment, so a payment of several invoices is posted
as one ERP payment per allocation, under the reference "<payment reference>/<allocation>".
Everything is read and decided before anything is written: the payment, its allocations and
any review item are recorded in one transaction, then each allocation is posted. Applying the
same payment again posts only what a crash left unposted (the ERP finds a payment by its
customer and reference, so nothing is posted twice) and otherwise changes nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal
from http import HTTPStatus

import sqlalchemy as sa

from ledgerbridge.apis.process.cash_application import store
from ledgerbridge.apis.process.cash_application.client import (
    AssignInvoices,
    CrmPaymentStatus,
    IncomingPayment,
    MatchedBy,
    PaymentApplication,
    ReviewItem,
    ReviewReason,
)
from ledgerbridge.apis.process.cash_application.matching import (
    Match,
    OpenInvoice,
    Unmatched,
    allocate,
    match,
    open_invoices,
)
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.system.crm_orders.client import BillingStatus, CrmOrdersV2Client
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_customers.client import ErpCustomersClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.canonical import Money, Payment, ReceivableItem
from ledgerbridge.runtime.errors import BackendRejected, Conflict, NotFound
from ledgerbridge.runtime.problems import UpstreamProblem

PAGE_SIZE = 200
_CRM_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
_INVOICE_NUMBER = re.compile(r"^[0-9A-Za-z]{1,10}$")


class PaymentClash(Conflict):
    """A payment reference already stands for a payment with other details."""


async def apply(deps: ProcessDeps, payment: IncomingPayment) -> tuple[PaymentApplication, bool]:
    """Apply ``payment``; returns how it stands and whether it is new."""
    reference = payment.payment_reference
    async with deps.store.engine.connect() as conn:
        known = await store.load_fingerprint(conn, reference)
    if known is not None:
        if known != store.fingerprint(payment):
            raise PaymentClash(
                f"payment {reference} was applied before with other details",
                backend="store",
                fields=["payment_reference"],
            )
        await _post_pending(deps, reference)
        return await get_payment(deps, reference), False
    customer, unknown = await _customer_of(deps, payment)
    parts: list[store.Part] = []
    review: store.Review | None = None
    matched_by: MatchedBy | None = None
    amount = payment.amount.amount
    if customer is None:
        review = store.Review(ReviewReason.UNKNOWN_CUSTOMER, unknown, amount, [])
    else:
        invoices = [
            invoice
            for invoice in await _open_invoices(deps, customer_erp_id=customer)
            if invoice.currency == payment.amount.currency
        ]
        found = match(invoices, amount, payment.references)
        if isinstance(found, Unmatched):
            review = store.Review(found.reason, found.detail, amount, found.candidates)
        else:
            matched_by = found.matched_by
            parts, review = _allocated(found, invoices, amount)
    try:
        async with deps.store.engine.begin() as conn:
            await store.record_payment(
                conn,
                payment,
                customer_erp_id=customer,
                matched_by=matched_by,
                parts=parts,
                review=review,
            )
    except sa.exc.IntegrityError as exc:  # the same payment, applied by a concurrent request
        raise Conflict(
            f"payment {reference} is being applied", backend="store", fields=["payment_reference"]
        ) from exc
    await _post_pending(deps, reference)
    return await get_payment(deps, reference), True


def _allocated(
    found: Match, invoices: list[OpenInvoice], amount: Decimal
) -> tuple[list[store.Part], store.Review | None]:
    spread, surplus = allocate(found.invoices, amount)
    parts = [store.Part(invoice, applied, _crm_order_of(invoice)) for invoice, applied in spread]
    if surplus <= 0:
        return parts, None
    paid = {invoice.number for invoice in found.invoices}
    detail = f"{surplus} left over after paying {', '.join(sorted(paid))} in full"
    others = [invoice for invoice in invoices if invoice.number not in paid]
    return parts, store.Review(ReviewReason.OVER_PAYMENT, detail, surplus, others)


def _crm_order_of(invoice: OpenInvoice) -> str | None:
    """The CRM order an invoice bills: order-to-cash sets the customer reference to its id."""
    reference = invoice.reference
    return reference if reference is not None and _CRM_ID.match(reference) else None


async def _customer_of(deps: ProcessDeps, payment: IncomingPayment) -> tuple[str | None, str]:
    """The payer's ERP customer, else why it is unknown: the one given, or the customer of
    the first invoice or order a reference names."""
    if payment.customer_erp_id is not None:
        try:
            await ErpCustomersClient(deps.system).get_customer(payment.customer_erp_id)
        except UpstreamProblem as exc:
            if exc.status != HTTPStatus.NOT_FOUND:
                raise
            return None, f"the ERP has no customer {payment.customer_erp_id}"
        return payment.customer_erp_id, ""
    invoices = ErpBillingDocumentsClient(deps.system)
    for reference in payment.references:
        if _INVOICE_NUMBER.match(reference):
            try:
                invoice = await invoices.get_invoice(reference)
            except UpstreamProblem as exc:
                if exc.status != HTTPStatus.NOT_FOUND:
                    raise
            else:
                if invoice.customer_erp_id is not None:
                    return invoice.customer_erp_id, ""
        by_order = await invoices.list_invoices(po_number=reference, limit=1)
        if by_order.items and by_order.items[0].customer_erp_id is not None:
            return by_order.items[0].customer_erp_id, ""
    if not payment.references:
        return None, "no customer given and no reference quoted"
    return None, "no customer given and no reference names an ERP invoice or order"


async def _open_invoices(
    deps: ProcessDeps, *, customer_erp_id: str | None = None, invoice_erp_number: str | None = None
) -> list[OpenInvoice]:
    receivables = ErpReceivablesClient(deps.system)
    items: list[ReceivableItem] = []
    cursor: str | None = None
    while True:
        page = await receivables.list_receivables(
            customer_erp_id=customer_erp_id,
            invoice_erp_number=invoice_erp_number,
            cleared=False,
            limit=PAGE_SIZE,
            cursor=cursor,
        )
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return open_invoices(items)


async def _post_pending(deps: ProcessDeps, payment_reference: str) -> None:
    """Post in the ERP each allocation of the payment not posted yet; what the ERP refuses
    (the invoice was paid meanwhile) is taken back and queued for review."""
    async with deps.store.engine.connect() as conn:
        todo = await store.pending(conn, payment_reference)
    receivables = ErpReceivablesClient(deps.system)
    for part in todo:
        try:
            posted = await receivables.post_payment(
                Payment(
                    customer_erp_id=part.customer_erp_id,
                    payment_date=part.payment_date,
                    amount=Money(amount=part.applied, currency=part.currency),
                    reference=part.erp_reference,
                    invoice_erp_numbers=[part.invoice_erp_number],
                )
            )
        except UpstreamProblem as exc:
            if (
                exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR
                or exc.status == HTTPStatus.TOO_MANY_REQUESTS
            ):
                raise  # an outage: applying the payment again posts the rest
            detail = f"the ERP refused to post {part.applied} to {part.invoice_erp_number}: {exc}"
            async with deps.store.engine.begin() as conn:
                await store.withdraw(conn, payment_reference, from_seq=part.seq, detail=detail)
            return
        if posted.erp_document is None:
            raise BackendRejected(
                f"the ERP returned no document for payment {part.erp_reference}",
                backend="erp-receivables",
            )
        if part.crm_order_id is not None:
            settled = part.applied == part.open_before
            status = CrmPaymentStatus.PAID if settled else CrmPaymentStatus.PARTIALLY_PAID
            await CrmOrdersV2Client(deps.system).set_billing_status(
                part.crm_order_id, BillingStatus(payment_status=status.value)
            )
        async with deps.store.engine.begin() as conn:
            await store.mark_posted(conn, payment_reference, part.seq, posted.erp_document)


async def resolve(
    deps: ProcessDeps, review_id: str, decision: AssignInvoices
) -> PaymentApplication:
    """Apply what a review item holds to the invoices a person chose, in their order."""
    review = await get_review(deps, review_id)
    if review.status != store.OPEN:
        raise Conflict(f"review {review_id} is {review.status}", backend="store")
    chosen = [await _open_invoice(deps, number, review) for number in decision.invoice_erp_numbers]
    customers = {invoice.customer_erp_id for invoice in chosen}
    if len(customers) > 1:
        raise _not_assignable(
            f"the invoices belong to several customers: {', '.join(sorted(customers))}"
        )
    spread, _ = allocate(chosen, review.amount.amount)
    parts = [store.Part(invoice, applied, _crm_order_of(invoice)) for invoice, applied in spread]
    async with deps.store.engine.begin() as conn:
        if not await store.resolve_review(
            conn,
            review_id,
            actor=decision.actor,
            note=decision.note,
            customer_erp_id=customers.pop(),
            parts=parts,
        ):
            raise Conflict(f"review {review_id} was resolved meanwhile", backend="store")
    await _post_pending(deps, review.payment_reference)
    return await get_payment(deps, review.payment_reference)


async def _open_invoice(deps: ProcessDeps, number: str, review: ReviewItem) -> OpenInvoice:
    """An invoice a person named, if it is open, in the payment's currency, of its customer."""
    found = await _open_invoices(deps, invoice_erp_number=number)
    invoice = next((invoice for invoice in found if invoice.number == number), None)
    if invoice is None:
        raise _not_assignable(f"invoice {number} has nothing open")
    if invoice.currency != review.amount.currency:
        raise _not_assignable(
            f"invoice {number} is in {invoice.currency}, the payment in {review.amount.currency}"
        )
    if review.customer_erp_id not in {None, invoice.customer_erp_id}:
        raise _not_assignable(
            f"invoice {number} is of customer {invoice.customer_erp_id}, "
            f"not {review.customer_erp_id}"
        )
    return invoice


def _not_assignable(message: str) -> BackendRejected:
    return BackendRejected(message, backend="erp-receivables", fields=["invoice_erp_numbers"])


async def get_payment(deps: ProcessDeps, payment_reference: str) -> PaymentApplication:
    """A payment and how it was applied, or NotFound."""
    async with deps.store.engine.connect() as conn:
        found = await store.load_payment(conn, payment_reference)
    if found is None:
        raise NotFound(
            f"no payment {payment_reference}", backend="store", fields=["payment_reference"]
        )
    return found


async def get_review(deps: ProcessDeps, review_id: str) -> ReviewItem:
    """One review item, or NotFound."""
    async with deps.store.engine.connect() as conn:
        found = await store.get_review(conn, review_id)
    if found is None:
        raise NotFound(f"no review item {review_id}", backend="store", fields=["review_id"])
    return found
