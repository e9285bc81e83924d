"""Billing runs: read invoices from the ERP and bring each onto the CRM order it bills.

An invoice's CRM order is found as order-to-cash records it: the crosswalk links the ERP
sales order to the CRM order; an order the crosswalk does not know is found by the ERP
order's customer reference (the purchase order number), which order-to-cash sets to the CRM
order id. A run over changed invoices reads from the checkpoint of the last such run and
moves it on once done, a little behind its own start to absorb clock skew; reading an
invoice twice is harmless, since what the CRM order already shows is not written again.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus

import sqlalchemy as sa

from ledgerbridge.apis.process.billing import store
from ledgerbridge.apis.process.billing.client import (
    BillingRun,
    CrmInvoiceStatus,
    InvoiceBilling,
    RunInvoice,
    StartBillingRun,
    SyncOutcome,
)
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.system.crm_orders.client import (
    BillingStatus,
    CrmOrdersClient,
    CrmOrdersV2Client,
)
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.canonical import Invoice, InvoiceStatus
from ledgerbridge.runtime.errors import NotFound
from ledgerbridge.runtime.problems import UpstreamProblem
from ledgerbridge.runtime.store import find_link, load_checkpoint, save_checkpoint

CHECKPOINT = "billing.erp-invoices"
OVERLAP = timedelta(seconds=2)
PAGE_SIZE = 200
_CRM_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")


async def run(deps: ProcessDeps, request: StartBillingRun) -> BillingRun:
    """Run billing for what ``request`` selects and record the run."""
    started = datetime.now(UTC)
    erp = ErpBillingDocumentsClient(deps.system)
    checkpointed = request.invoice_erp_number is None and request.changed_since is None
    since = request.changed_since
    if request.invoice_erp_number is not None:
        found = [await erp.get_invoice(request.invoice_erp_number)]
    else:
        if checkpointed:
            async with deps.store.engine.connect() as conn:
                position = await load_checkpoint(conn, CHECKPOINT)
            since = None if position is None else datetime.fromtimestamp(position / 1000, UTC)
        found = await _changed_invoices(erp, since)
    results = [await _sync(deps, invoice, started) for invoice in found]
    async with deps.store.engine.begin() as conn:
        if checkpointed:
            await save_checkpoint(conn, CHECKPOINT, int((started - OVERLAP).timestamp() * 1000))
        return await store.record_run(
            conn,
            invoice_erp_number=request.invoice_erp_number,
            changed_since=since,
            checkpointed=checkpointed,
            started_at=started,
            results=results,
        )


async def _changed_invoices(
    erp: ErpBillingDocumentsClient, since: datetime | None
) -> list[Invoice]:
    found: list[Invoice] = []
    cursor: str | None = None
    while True:
        page = await erp.list_invoices(changed_since=since, limit=PAGE_SIZE, cursor=cursor)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


async def _sync(deps: ProcessDeps, invoice: Invoice, now: datetime) -> RunInvoice:
    crm_order_id = await crm_order_of(deps, invoice)
    if crm_order_id is None:
        return RunInvoice(
            invoice_erp_number=invoice.erp_number,
            crm_order_id=None,
            outcome=SyncOutcome.NO_CRM_ORDER,
        )
    billing = InvoiceBilling(
        invoice_erp_number=invoice.erp_number,
        crm_order_id=crm_order_id,
        erp_order_number=invoice.order_erp_number,
        customer_erp_id=invoice.customer_erp_id,
        erp_status=invoice.status,
        amount=invoice.gross_total,
        due_date=invoice.due_date or await _due_date(deps, invoice.erp_number),
        crm_invoice_status=(
            CrmInvoiceStatus.CANCELLED
            if invoice.status is InvoiceStatus.CANCELLED
            else CrmInvoiceStatus.INVOICED
        ),
        synced_at=now,
    )
    async with deps.store.engine.connect() as conn:
        shown = await store.load_invoice(conn, invoice.erp_number)
    if shown is not None and store.fingerprint(shown) == store.fingerprint(billing):
        return RunInvoice(
            invoice_erp_number=invoice.erp_number,
            crm_order_id=crm_order_id,
            outcome=SyncOutcome.UNCHANGED,
        )
    # The CRM first: a crash before the record is kept writes the same status again.
    status = BillingStatus(invoice_status=billing.crm_invoice_status.value)
    await CrmOrdersV2Client(deps.system).set_billing_status(crm_order_id, status)
    try:
        changed = await _save(deps, billing)
    except sa.exc.IntegrityError:  # a concurrent run recorded the invoice first
        changed = await _save(deps, billing)
    return RunInvoice(
        invoice_erp_number=invoice.erp_number,
        crm_order_id=crm_order_id,
        outcome=SyncOutcome.SYNCED if changed else SyncOutcome.UNCHANGED,
    )


async def _due_date(deps: ProcessDeps, invoice_erp_number: str) -> date | None:
    """The due date of the invoice's receivable (billing documents do not carry one)."""
    page = await ErpReceivablesClient(deps.system).list_receivables(
        invoice_erp_number=invoice_erp_number, limit=50
    )
    # The invoice's own item is the debit; part payments beside it are credits.
    return next((item.due_date for item in page.items if item.amount.amount > 0), None)


async def _save(deps: ProcessDeps, billing: InvoiceBilling) -> bool:
    async with deps.store.engine.begin() as conn:
        return await store.save_invoice(conn, billing)


async def crm_order_of(deps: ProcessDeps, invoice: Invoice) -> str | None:
    """The CRM order ``invoice`` bills: by the crosswalk, else by the customer reference."""
    if invoice.order_erp_number is not None:
        async with deps.store.engine.connect() as conn:
            known = await find_link(conn, "order", erp_id=invoice.order_erp_number)
        if known is not None and known.crm_id is not None:
            return known.crm_id
    reference = invoice.po_number
    if reference is None or not _CRM_ID.match(reference):
        return None
    try:
        order = await CrmOrdersClient(deps.system).get_order(reference)
    except UpstreamProblem as exc:
        if exc.status == HTTPStatus.NOT_FOUND:
            return None
        raise
    return order.crm_id


async def get_invoice(deps: ProcessDeps, invoice_erp_number: str) -> InvoiceBilling:
    """What billing last brought over for an invoice, or NotFound."""
    async with deps.store.engine.connect() as conn:
        found = await store.load_invoice(conn, invoice_erp_number)
    if found is None:
        raise NotFound(
            f"billing has not brought over invoice {invoice_erp_number}",
            backend="store",
            fields=["invoice_erp_number"],
        )
    return found


async def get_run(deps: ProcessDeps, run_id: str) -> BillingRun:
    """One billing run, or NotFound."""
    async with deps.store.engine.connect() as conn:
        found = await store.get_run(conn, run_id)
    if found is None:
        raise NotFound(f"no billing run {run_id}", backend="store", fields=["run_id"])
    return found
