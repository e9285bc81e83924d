"""Cash application's consumer of ``payment.received``: when order-to-cash sees an order's
invoice cleared in the ERP (however the payment got there), the CRM order shows it paid.

Setting the status again writes the same value, so a redelivered or replayed event changes
nothing. An event without its CRM order is dead-lettered at once.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ledgerbridge.apis.process.cash_application.client import CrmPaymentStatus
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.system.crm_orders.client import BillingStatus, CrmOrdersV2Client
from ledgerbridge.runtime.messaging import Delivery, EventBus, Handler, Subscription

TOPIC = "payment.received"
CONSUMER = "process.cash-application"


class _PaymentReceived(BaseModel):
    crm_order_id: str = Field(min_length=1)


def payment_received_handler(deps: ProcessDeps) -> Handler:
    """The bus handler: one ``payment.received`` event, the CRM order marked paid."""

    async def handle(delivery: Delivery) -> None:
        received = _PaymentReceived.model_validate(delivery.message.data)
        status = BillingStatus(payment_status=CrmPaymentStatus.PAID.value)
        await CrmOrdersV2Client(deps.system).set_billing_status(received.crm_order_id, status)

    return handle


async def consume_payments_received(bus: EventBus, deps: ProcessDeps) -> Subscription:
    """Subscribe cash application to ``payment.received``."""
    return await bus.subscribe(TOPIC, payment_received_handler(deps), group=CONSUMER)
