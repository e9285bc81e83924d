"""The case advancer: a worker that moves open cases on from what the ERP reports.

Each round it
1. runs again the start of cases that stalled (an outage, or a worker that died),
2. reads the invoices the ERP changed since its checkpoint (a delta read through
   erp-billing-documents) and applies each to the case of its sales order,
3. reads the sales order of each case waiting on the ERP (credit release, completion,
   cancellation), and every few rounds the invoice of each invoiced case, as a safety net
   for a change the delta read did not see.

An observation only ever moves a case forward along its path (see `states`), by
compare-and-set, so a duplicate, late or concurrent observation changes nothing. A stalled
start is run under the case's claim (a lease in `store`), renewed while it runs, so two
workers never run the same step; a claim left unrenewed for ``claim_lease`` belonged to a
worker that died, and is taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash import reviews, service, store
from ledgerbridge.apis.process.order_to_cash.states import WATCHED, CaseState, path_between
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_sales_orders.client import ErpSalesOrdersClient
from ledgerbridge.canonical import Invoice, InvoiceStatus, OrderStatus, SalesOrderState
from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.store import load_checkpoint, save_checkpoint

CHECKPOINT = "order-to-cash.erp-invoices"
SEND_INVOICE_TO_CRM = "send-invoice-to-crm"
# Cases whose ERP sales order is read each round.
_ORDER_WATCH = (CaseState.REFERRED, CaseState.CREDIT_CHECKED, CaseState.ERP_ORDER_CREATED)
_INVOICE_WATCH = (CaseState.FULFILLED, CaseState.INVOICED, CaseState.INVOICE_SENT, CaseState.PAID)
log = structlog.get_logger("ledgerbridge.order_to_cash.advancer")


class CaseAdvancer:
    """Moves order-to-cash cases on from the ERP's state; safe to run in several processes.

    Usage::

        advancer = CaseAdvancer(deps, interval=1.0)
        task = asyncio.create_task(advancer.run())   # until cancelled
        await advancer.tick()                        # or one round, now
    """

    def __init__(
        self,
        deps: ProcessDeps,
        *,
        interval: float = 1.0,
        batch_size: int = 200,
        retry_after: timedelta = timedelta(seconds=30),
        overlap: timedelta = timedelta(seconds=2),
        sweep_every: int = 10,
        fulfilment_sla: timedelta | None = None,
        claim_lease: timedelta = store.STALE_CLAIM,
        concurrency: int = 8,
    ) -> None:
        self._deps = deps
        self._interval = interval
        self._batch_size = batch_size
        self._retry_after = retry_after
        # ERP change stamps are the ERP's clock; reading a little behind ours absorbs skew.
        self._overlap = overlap
        self._sweep_every = sweep_every
        # An accepted order not completed by the ERP within this becomes a timeout review.
        self._fulfilment_sla = fulfilment_sla
        self._claim_lease = claim_lease
        # How many watched cases a round reads from the ERP at once.
        self._concurrency = concurrency
        self._stopping = asyncio.Event()
        self._rounds = 0
        self._resume_after: str | None = None
        self._orders = ErpSalesOrdersClient(deps.system)
        self._invoices = ErpBillingDocumentsClient(deps.system)

    async def run(self) -> None:
        """Advance cases, one round every ``interval`` seconds, until `stop`."""
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            began = loop.time()
            try:
                await self.tick()
            except Exception:  # a worker outlives any one round; the next one tries again
                log.exception("order-to-cash round failed")
            # Rounds start every interval (the round's own time counts), with a short pause
            # at least, so a round longer than the interval does not run back to back.
            pause = max(self._interval - (loop.time() - began), self._interval / 10)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)

    def stop(self) -> None:
        """Finish the case in hand, then return from `run` (a graceful shutdown)."""
        self._stopping.set()

    async def tick(self) -> int:
        """One round; returns how many moves it made."""
        started = datetime.now(UTC)
        self._rounds += 1
        await self._resume_stalled(started)
        async with self._deps.store.engine.connect() as conn:
            waiting = await store.count_in(conn, WATCHED)
        if waiting == 0:
            return 0  # nothing waits on the ERP: no call to it
        await self._raise_overdue(started)
        moves = await self._apply_changed_invoices(started)
        # A worker's first round sweeps too: it cannot know what changed before it started.
        sweep = (self._rounds - 1) % self._sweep_every == 0
        watch = (*_ORDER_WATCH, *_INVOICE_WATCH) if sweep else _ORDER_WATCH
        async with self._deps.store.engine.connect() as conn:
            refs = await store.watched_cases(
                conn, watch, after=self._resume_after, limit=self._batch_size
            )
        # Each round polls the next batch, so every case gets its turn however many wait.
        self._resume_after = refs[-1].case_id if len(refs) == self._batch_size else None
        gate = asyncio.Semaphore(self._concurrency)

        async def poll(ref: store.CaseRef) -> int:
            async with gate:
                if self._stopping.is_set():
                    return 0
                try:
                    return await self._poll(ref)
                except LedgerbridgeError as exc:
                    log.info("case waits for the ERP", case_id=ref.case_id, error=exc.message)
                    return 0

        # The cases are independent (each move is compare-and-set): read them a few at once.
        return moves + sum(await asyncio.gather(*(poll(ref) for ref in refs)))

    async def _resume_stalled(self, now: datetime) -> None:
        async with self._deps.store.engine.connect() as conn:
            stalled = await store.stalled_cases(
                conn, older_than=now - self._retry_after, limit=self._batch_size
            )
        for ref in stalled:
            if self._stopping.is_set():
                return
            async with self._deps.store.engine.begin() as conn:
                # A claim not renewed within the lease belonged to a worker that died.
                await store.release_claim(conn, ref.case_id, idle_for=self._claim_lease)
            await self._resume_leased(ref)

    async def _resume_leased(self, ref: store.CaseRef) -> None:
        """Run a stalled start, renewing its claim meanwhile (a run cancelled mid-step leaves
        the claim to lapse, and another worker takes the case over after the lease)."""
        heartbeat = asyncio.create_task(self._renew(ref.case_id))
        try:
            # A failure is recorded on the case by the saga itself.
            with contextlib.suppress(LedgerbridgeError):
                await service.resume(self._deps, ref)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _renew(self, case_id: str) -> None:
        every = self._claim_lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            async with self._deps.store.engine.begin() as conn:
                await store.renew_claim(conn, case_id)

    async def _raise_overdue(self, now: datetime) -> None:
        """Queue each order the ERP has not completed within the SLA, once per wait."""
        if self._fulfilment_sla is None:
            return
        async with self._deps.store.engine.begin() as conn:
            late = await reviews.overdue(
                conn,
                CaseState.ERP_ORDER_CREATED.value,
                entered_before=now - self._fulfilment_sla,
                limit=self._batch_size,
            )
            for case_id, since in late:
                hours = (now - since).total_seconds() / 3600
                await reviews.open_review(
                    conn,
                    case_id,
                    reviews.ReviewKind.TIMEOUT,
                    f"the ERP has not completed the order within {self._fulfilment_sla}",
                    {
                        "state": CaseState.ERP_ORDER_CREATED.value,
                        "since": since.isoformat(),
                        "waited_hours": f"{hours:.2f}",
                        "sla_hours": f"{self._fulfilment_sla.total_seconds() / 3600:.2f}",
                    },
                )

    async def _apply_changed_invoices(self, started: datetime) -> int:
        """Apply every invoice changed since the checkpoint, then move the checkpoint."""
        async with self._deps.store.engine.connect() as conn:
            position = await load_checkpoint(conn, CHECKPOINT)
        since = (
            started - self._retry_after
            if position is None
            else datetime.fromtimestamp(position / 1000, UTC)
        )
        latest: dict[str, Invoice] = {}
        cursor: str | None = None
        while True:
            page = await self._invoices.list_invoices(changed_since=since, limit=100, cursor=cursor)
            for invoice in page.items:
                if invoice.order_erp_number is not None:
                    latest[invoice.order_erp_number] = _preferred(
                        latest.get(invoice.order_erp_number), invoice
                    )
            cursor = page.next_cursor
            if cursor is None:
                break
        async with self._deps.store.engine.connect() as conn:
            refs = await store.cases_of_erp_orders(conn, latest)
        moves = 0
        for ref in refs:
            assert ref.erp_order_number is not None
            moves += await observe(self._deps, ref, invoice=latest[ref.erp_order_number])
        async with self._deps.store.engine.begin() as conn:
            await save_checkpoint(
                conn, CHECKPOINT, int((started - self._overlap).timestamp() * 1000)
            )
        return moves

    async def _poll(self, ref: store.CaseRef) -> int:
        if ref.erp_order_number is None:
            return 0
        if ref.state in _ORDER_WATCH:
            order = await self._orders.get_sales_order(ref.erp_order_number)
            invoice = None
            if order.status is OrderStatus.FULFILLED:
                invoice = await self._invoice_of(ref)
            return await observe(self._deps, ref, sales_order=order, invoice=invoice)
        if ref.invoice_erp_number is not None:
            invoice = await self._invoices.get_invoice(ref.invoice_erp_number)
            return await observe(self._deps, ref, invoice=invoice)
        # Fulfilled with no invoice seen yet (or a crash between two moves of one
        # observation): the delta read may already be past the invoice's change.
        return await observe(self._deps, ref, invoice=await self._invoice_of(ref))

    async def _invoice_of(self, ref: store.CaseRef) -> Invoice | None:
        """The invoice of a completed order (billing documents carry its CRM reference)."""
        page = await self._invoices.list_invoices(po_number=ref.crm_order_id, limit=20)
        found: Invoice | None = None
        for invoice in page.items:
            if invoice.order_erp_number in {None, ref.erp_order_number}:
                found = _preferred(found, invoice)
        return found


def _preferred(current: Invoice | None, candidate: Invoice) -> Invoice:
    """Of two invoices of one order, the one that counts: not cancelled, then the newer."""
    if current is None:
        return candidate
    if (candidate.status is InvoiceStatus.CANCELLED) != (current.status is InvoiceStatus.CANCELLED):
        return current if candidate.status is InvoiceStatus.CANCELLED else candidate
    return max(current, candidate, key=lambda invoice: invoice.erp_number)


async def observe(
    deps: ProcessDeps,
    ref: store.CaseRef,
    *,
    sales_order: SalesOrderState | None = None,
    invoice: Invoice | None = None,
) -> int:
    """Move a case as far forward as what the ERP shows allows; returns the moves made.

    A case whose start is not done moves nothing: the ERP may deliver and bill its sales order
    before the start has linked it in the CRM and taken the credit decision, and those steps
    are the start's to finish (`service.resume`), never to be skipped.
    """
    state = ref.state
    if state not in WATCHED:
        return 0
    moves = 0
    if state in _ORDER_WATCH and sales_order is not None:
        if sales_order.status is OrderStatus.CANCELLED:
            return await _cancelled_in_erp(deps, ref)
        if state is not CaseState.ERP_ORDER_CREATED:
            if sales_order.status is OrderStatus.CREDIT_HOLD:
                return 0
            moves += await _credit_released(deps, ref)
            state = CaseState.ERP_ORDER_CREATED
    target: CaseState | None = None
    if invoice is not None and invoice.status is not InvoiceStatus.CANCELLED:
        target = (
            CaseState.CLOSED if invoice.status is InvoiceStatus.PAID else CaseState.INVOICE_SENT
        )
    elif sales_order is not None and sales_order.status is OrderStatus.FULFILLED:
        target = CaseState.FULFILLED
    if target is None:
        return moves
    # The moves of one observation commit together, each compare-and-set as alone: one
    # that finds the case moved already ends the run (someone else carries on from there).
    async with deps.store.engine.begin() as conn:
        for step in path_between(state, target):
            if not await _enter(conn, ref, state, step, invoice):
                break
            state = step
            moves += 1
    return moves


async def _enter(
    conn: AsyncConnection,
    ref: store.CaseRef,
    current: CaseState,
    step: CaseState,
    invoice: Invoice | None,
) -> bool:
    """Make the move into ``step`` with its side effects and event, in one transaction."""
    base = {"crm_order_id": ref.crm_order_id, "erp_order_number": ref.erp_order_number}
    if step is CaseState.ERP_ORDER_CREATED:  # approved, and the ERP got on with the order
        return await _accepted(conn, ref)
    if step is CaseState.FULFILLED:
        return await store.move(
            conn, ref.case_id, expected=[current], to=step, detail="the ERP completed the order"
        )
    assert invoice is not None
    billed = base | {
        "invoice_erp_number": invoice.erp_number,
        "gross_total": str(invoice.gross_total.amount),
        "currency": invoice.currency,
        "due_date": None if invoice.due_date is None else invoice.due_date.isoformat(),
    }
    if step is CaseState.INVOICED:
        return await store.move(
            conn,
            ref.case_id,
            expected=[current],
            to=step,
            detail=f"invoice {invoice.erp_number} for {invoice.gross_total}",
            event=store.Event("invoice.issued", billed),
            invoice_erp_number=invoice.erp_number,
        )
    if step is CaseState.INVOICE_SENT:
        moved = await store.move(
            conn,
            ref.case_id,
            expected=[current],
            to=step,
            detail="invoice.issued published for the CRM",
        )
        if moved:
            # crm-orders has no invoice or payment write yet: the step says so on the case.
            await store.record_step(
                conn,
                ref.case_id,
                SEND_INVOICE_TO_CRM,
                "skipped",
                "billing brings the invoice status onto the CRM order; invoice.issued carries it",
            )
        return moved
    if step is CaseState.PAID:
        return await store.move(
            conn,
            ref.case_id,
            expected=[current],
            to=step,
            detail=f"invoice {invoice.erp_number} paid",
            event=store.Event("payment.received", billed),
        )
    assert step is CaseState.CLOSED, step
    return await store.move(
        conn,
        ref.case_id,
        expected=[current],
        to=step,
        detail="delivered, invoiced and paid",
        event=store.Event("order.closed", billed),
    )


async def _credit_released(deps: ProcessDeps, ref: store.CaseRef) -> int:
    """The ERP no longer blocks the order: it is accepted (after a release or an approval)."""
    moves = 0
    async with deps.store.engine.begin() as conn:
        if ref.state is CaseState.REFERRED:
            items = await reviews.open_reviews_of(conn, ref.case_id)
            # Credit verification referred an order the ERP let through: a person decides.
            if any(item.figures.get(service.ERP_CREDIT_HOLD) == "false" for item in items):
                return 0
            if not await store.move(
                conn,
                ref.case_id,
                expected=[CaseState.REFERRED],
                to=CaseState.CREDIT_CHECKED,
                detail="credit block released in the ERP",
            ):
                return 0
            for item in items:
                await reviews.resolve_review(
                    conn,
                    item.review_id,
                    reviews.ReviewStatus.APPROVED,
                    actor="erp",
                    note="credit block released in the ERP",
                )
            moves += 1
        if await _accepted(conn, ref):
            moves += 1
    return moves


async def _accepted(conn: AsyncConnection, ref: store.CaseRef) -> bool:
    """Move a credit-checked case on: the ERP no longer blocks its order."""
    return await store.move(
        conn,
        ref.case_id,
        expected=[CaseState.CREDIT_CHECKED],
        to=CaseState.ERP_ORDER_CREATED,
        detail="credit block released",
        event=store.Event(
            "order.accepted",
            {"crm_order_id": ref.crm_order_id, "erp_order_number": ref.erp_order_number},
        ),
    )


async def _cancelled_in_erp(deps: ProcessDeps, ref: store.CaseRef) -> int:
    async with deps.store.engine.begin() as conn:
        moved = await store.move(
            conn,
            ref.case_id,
            expected=[ref.state],
            to=CaseState.CANCELLED,
            detail="the sales order was rejected in the ERP",
            event=store.Event(
                "order.cancelled",
                {"crm_order_id": ref.crm_order_id, "erp_order_number": ref.erp_order_number},
            ),
        )
    return int(moved)
