"""Order to cash in a real Tryton through the connector: sale, invoice, payment, credit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.contract.tryton.conftest import SaleFixtures, crm_id

from ledgerbridge.connectors.tryton import (
    TrytonClient,
    TrytonUserError,
    TrytonUserWarning,
    WizardStep,
)
from ledgerbridge.tryton_setup import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    PAYMENT_METHOD_NAME,
    TrytonServer,
)

# Each module starts its own trytond on a port.
pytestmark = pytest.mark.slow


async def test_sale_is_confirmed_invoiced_posted_and_paid(
    tryton: TrytonClient, globex: SaleFixtures
) -> None:
    """A sale keyed by the CRM order id goes through quote, confirm, process, invoice, pay."""
    order_id = crm_id("801")
    assert await tryton.find_sale_by_reference(order_id) is None
    [sale_id] = await tryton.create("sale.sale", [globex.sale(order_id, 2)])
    await tryton.button("sale.sale", "quote", [sale_id])
    await tryton.button("sale.sale", "confirm", [sale_id])
    await tryton.button("sale.sale", "process", [sale_id])

    sale = await tryton.find_sale_by_reference(order_id, ["state", "invoices", "total_amount"])
    assert sale is not None
    assert sale.id == sale_id
    assert sale["state"] == "processing"
    assert sale["total_amount"] == Decimal("500.00")
    [invoice_id] = sale["invoices"]

    await tryton.button("account.invoice", "post", [invoice_id])
    [invoice] = await tryton.read(
        "account.invoice", [invoice_id], ["state", "number", "total_amount", "amount_to_pay"]
    )
    assert invoice["state"] == "posted"
    assert invoice["number"]
    assert invoice["amount_to_pay"] == Decimal("500.00")

    [method] = await tryton.search(
        "account.invoice.payment.method", [["name", "=", PAYMENT_METHOD_NAME]]
    )
    result = await tryton.execute_wizard(
        "account.invoice.pay",
        model="account.invoice",
        ids=[invoice_id],
        steps=[WizardStep("choice", {"payment_method": method})],
    )
    assert result.state is None
    [paid] = await tryton.read("account.invoice", [invoice_id], ["state", "amount_to_pay"])
    assert (paid["state"], paid["amount_to_pay"]) == ("paid", Decimal("0"))
    [done] = await tryton.read("sale.sale", [sale_id], ["state", "invoice_state"])
    assert (done["state"], done["invoice_state"]) == ("done", "paid")


async def test_sale_over_the_credit_limit_is_refused_with_the_reason(
    tryton: TrytonClient, acme: SaleFixtures
) -> None:
    """Confirming a sale above the party's credit limit raises Tryton's reason, typed."""
    [sale_id] = await tryton.create("sale.sale", [acme.sale(crm_id("801"), 10)])
    await tryton.button("sale.sale", "quote", [sale_id])
    with pytest.raises(TrytonUserError) as raised:
        await tryton.button("sale.sale", "confirm", [sale_id])
    assert "ACME Corp" in raised.value.message
    assert "credit limit" in raised.value.message
    [sale] = await tryton.read("sale.sale", [sale_id], ["state"])
    assert sale["state"] == "quotation"


async def test_credit_warning_can_be_acknowledged(
    tryton_server: TrytonServer, acme: SaleFixtures
) -> None:
    """An administrator gets a UserWarning instead; acknowledging it lets the confirm pass."""
    async with TrytonClient(
        base_url=tryton_server.base_url,
        database=tryton_server.database,
        username=ADMIN_LOGIN,
        password=ADMIN_PASSWORD,
    ) as admin:
        [sale_id] = await admin.create("sale.sale", [acme.sale(crm_id("801"), 10)])
        await admin.button("sale.sale", "quote", [sale_id])
        with pytest.raises(TrytonUserWarning) as raised:
            await admin.button("sale.sale", "confirm", [sale_id])
        assert "credit limit" in raised.value.message
        assert raised.value.name
        await admin.acknowledge_warning(raised.value)
        await admin.button("sale.sale", "confirm", [sale_id])
        [sale] = await admin.read("sale.sale", [sale_id], ["state"])
    assert sale["state"] in ("confirmed", "processing")


async def _posted_invoice(tryton: TrytonClient, fixtures: SaleFixtures) -> int:
    """A confirmed sale of one product unit (250.00) whose invoice is posted."""
    [sale_id] = await tryton.create("sale.sale", [fixtures.sale(crm_id("801"), 1)])
    await tryton.button("sale.sale", "quote", [sale_id])
    await tryton.button("sale.sale", "confirm", [sale_id])
    [sale] = await tryton.read("sale.sale", [sale_id], ["invoices"])
    [invoice_id] = sale["invoices"]
    await tryton.button("account.invoice", "post", [invoice_id])
    return int(invoice_id)


async def _payment_method(tryton: TrytonClient) -> int:
    [method] = await tryton.search(
        "account.invoice.payment.method", [["name", "=", PAYMENT_METHOD_NAME]]
    )
    return method


async def test_partial_payment_asks_how_then_leaves_the_rest_open(
    tryton: TrytonClient, globex: SaleFixtures
) -> None:
    """Paying part of an invoice stops on the ask form; as partial, the rest stays due."""
    invoice_id = await _posted_invoice(tryton, globex)
    method = await _payment_method(tryton)
    async with tryton.wizard(
        "account.invoice.pay", model="account.invoice", ids=[invoice_id]
    ) as pay:
        assert pay.state == "start"
        assert pay.form["amount"] == Decimal("250.00")
        await pay.press("choice", {"payment_method": method, "amount": Decimal("100.00")})
        assert pay.state == "ask"
        await pay.press("pay", {"type": "partial"})
        assert pay.state is None
    [invoice] = await tryton.read("account.invoice", [invoice_id], ["state", "amount_to_pay"])
    assert (invoice["state"], invoice["amount_to_pay"]) == ("posted", Decimal("150.00"))


async def test_a_refusal_inside_a_wizard_is_a_typed_user_error(
    tryton: TrytonClient, globex: SaleFixtures
) -> None:
    """Paying more than is due as a partial payment raises Tryton's reason; nothing is paid."""
    invoice_id = await _posted_invoice(tryton, globex)
    method = await _payment_method(tryton)
    with pytest.raises(TrytonUserError) as raised:
        await tryton.execute_wizard(
            "account.invoice.pay",
            model="account.invoice",
            ids=[invoice_id],
            steps=[
                WizardStep("choice", {"payment_method": method, "amount": Decimal("300.00")}),
                WizardStep("pay", {"type": "partial"}),
            ],
        )
    assert "250.00" in raised.value.message
    [invoice] = await tryton.read("account.invoice", [invoice_id], ["amount_to_pay"])
    assert invoice["amount_to_pay"] == Decimal("250.00")
