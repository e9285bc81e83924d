"""Billing's consumer of ``invoice.issued``: an invoice order-to-cash sees in the ERP is written
onto its CRM order at once, as a billing run of that one invoice (recorded like any run).

The sync writes nothing for an invoice the CRM already shows as it is, so a redelivered or
replayed event changes nothing. An event without an invoice number is dead-lettered at once.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ledgerbridge.apis.process.billing.client import StartBillingRun
from ledgerbridge.apis.process.billing.service import run
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.runtime.messaging import Delivery, EventBus, Handler, Subscription

TOPIC = "invoice.issued"
CONSUMER = "process.billing"


class _InvoiceIssued(BaseModel):
    invoice_erp_number: str = Field(min_length=1)


def invoice_issued_handler(deps: ProcessDeps) -> Handler:
    """The bus handler: one ``invoice.issued`` event, its invoice synced to the CRM."""

    async def handle(delivery: Delivery) -> None:
        issued = _InvoiceIssued.model_validate(delivery.message.data)
        await run(deps, StartBillingRun(invoice_erp_number=issued.invoice_erp_number))

    return handle


async def consume_invoices_issued(bus: EventBus, deps: ProcessDeps) -> Subscription:
    """Subscribe billing to ``invoice.issued``."""
    return await bus.subscribe(TOPIC, invoice_issued_handler(deps), group=CONSUMER)
