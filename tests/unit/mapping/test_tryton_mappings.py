"""Golden tests: canonical models into Tryton create values, and Tryton records read back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledgerbridge.canonical import (
    Address,
    CreditLimit,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Party,
    Payment,
    Price,
    Product,
    ReceivableItem,
    SalesOrderItem,
    SalesOrderState,
)
from ledgerbridge.mapping import apply, load_mapping
from ledgerbridge.runtime.errors import MappingError


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def sample_order(**changes: Any) -> Order:
    fields: dict[str, Any] = {
        "crm_id": "8015g00000ABCdEAAX",
        "customer_erp_id": "42",
        "order_date": date(2026, 11, 20),
        "currency": "USD",
        "status": OrderStatus.ACTIVATED,
        "po_number": "PO-4711",
        "lines": [
            OrderLine(
                line_number=1,
                product_sku="LB-100",
                description="Ledger Adapter",
                quantity=Decimal(3),
                unit="EA",
                unit_price=usd("199.90"),
                net_amount=usd("599.70"),
            ),
            OrderLine(
                line_number=2,
                product_sku="LB-300",
                quantity=Decimal("1.5"),
                unit="H",
                unit_price=usd("95.50"),
                net_amount=usd("143.25"),
            ),
        ],
        "net_total": usd("742.95"),
    }
    return Order(**(fields | changes))


def sale_record(**changes: Any) -> dict[str, Any]:
    """A sale.sale as the adapter hands it over: related records nested, the hold flag added."""
    record: dict[str, Any] = {
        "id": 17,
        "reference": "8015g00000ABCdEAAX",
        "description": "PO-4711",
        "sale_date": date(2026, 11, 20),
        "state": "processing",
        "invoice_state": "pending",
        "party": 42,
        "untaxed_amount": Decimal("742.95"),
        "comment": None,
        "currency": {"id": 1, "code": "USD"},
        "credit_hold": "",
        "lines": [
            {
                "id": 31,
                "type": "line",
                "product": {"id": 1, "code": "LB-100"},
                "description": "Ledger Adapter",
                "quantity": 3.0,
                "unit": {"id": 1, "symbol": "u"},
                "unit_price": Decimal("199.9000"),
                "amount": Decimal("599.70"),
            },
            {
                "id": 32,
                "type": "line",
                "product": {"id": 3, "code": "LB-300"},
                "description": None,
                "quantity": 1.5,
                "unit": {"id": 9, "symbol": "h"},
                "unit_price": Decimal("95.5000"),
                "amount": Decimal("143.25"),
            },
        ],
    }
    return record | changes


def test_party_becomes_party_values_with_crm_identifier_and_address() -> None:
    """The CRM id becomes the untyped identifier; the country stays a code for the adapter."""
    party = Party(
        crm_id="0015g00000XyZ12AAB",
        name="Edge Communications",
        billing_address=Address(
            street="312 Constitution Place", city="Austin", postal_code="78767", country="US"
        ),
    )
    assert apply("party_to_tryton_party", party) == {
        "name": "Edge Communications",
        "identifiers": [{"code": "0015g00000XyZ12AAB"}],
        "addresses": [
            {
                "street": "312 Constitution Place",
                "city": "Austin",
                "postal_code": "78767",
                "country_code": "US",
            }
        ],
    }


def test_party_without_crm_id_is_refused() -> None:
    """Without a CRM id a retry could not find the party again: the mapping refuses it."""
    with pytest.raises(MappingError) as raised:
        apply("party_to_tryton_party", Party(name="Acme"))
    assert raised.value.field == "crm_id"


def test_tryton_party_reads_back_with_the_untyped_identifier_as_crm_id() -> None:
    """A tax identifier is skipped; the address with its country becomes the billing address."""
    record = {
        "id": 42,
        "name": "Edge Communications",
        "identifiers": [
            {"id": 1, "type": "eu_vat", "code": "DE123456789"},
            {"id": 2, "type": None, "code": "0015g00000XyZ12AAB"},
        ],
        "addresses": [
            {
                "id": 5,
                "street": "312 Constitution Place",
                "city": "Austin",
                "postal_code": "78767",
                "country": {"id": 233, "code": "US"},
            }
        ],
    }
    party = load_mapping("tryton_party_to_party").to_model(record, Party)
    assert party == Party(
        crm_id="0015g00000XyZ12AAB",
        erp_id="42",
        name="Edge Communications",
        billing_address=Address(
            street="312 Constitution Place", city="Austin", postal_code="78767", country="US"
        ),
    )


def test_tryton_address_without_country_is_left_out() -> None:
    """Tryton without imported countries keeps addresses the canonical model cannot hold."""
    record = {
        "id": 2,
        "name": "ACME Corp",
        "identifiers": [{"id": 1, "type": None, "code": "001DEMO000000001"}],
        "addresses": [
            {"id": 1, "street": "1 Main Street", "city": "Springfield", "postal_code": "10115"}
        ],
    }
    party = load_mapping("tryton_party_to_party").to_model(record, Party)
    assert (party.erp_id, party.crm_id, party.billing_address) == ("2", "001DEMO000000001", None)


def test_order_becomes_sale_values_with_codes_for_the_adapter() -> None:
    """Reference = CRM id, PO number as description, lines by product code and Tryton unit."""
    assert apply("order_to_tryton_sale", sample_order()) == {
        "party": 42,
        "reference": "8015g00000ABCdEAAX",
        "description": "PO-4711",
        "sale_date": date(2026, 11, 20),
        "currency_code": "USD",
        "lines": [
            {
                "type": "line",
                "sequence": 1,
                "product_code": "LB-100",
                "description": "Ledger Adapter",
                "quantity": Decimal(3),
                "unit_symbol": "u",
                "unit_price": Decimal("199.90"),
            },
            {
                "type": "line",
                "sequence": 2,
                "product_code": "LB-300",
                "quantity": Decimal("1.5"),
                "unit_symbol": "h",
                "unit_price": Decimal("95.50"),
            },
        ],
    }


def test_order_in_a_unit_tryton_cannot_name_is_refused() -> None:
    """A unit code without a Tryton symbol fails the mapping, naming the line's unit."""
    line = sample_order().lines[0].model_copy(update={"unit": "PAL"})
    with pytest.raises(MappingError) as raised:
        apply("order_to_tryton_sale", sample_order(lines=[line], net_total=usd("599.70")))
    assert "unit" in raised.value.field


def test_order_without_customer_erp_id_is_refused() -> None:
    """A sale needs its Tryton party."""
    with pytest.raises(MappingError) as raised:
        apply("order_to_tryton_sale", sample_order(customer_erp_id=None))
    assert raised.value.field == "customer_erp_id"


def test_sale_reads_back_as_sales_order_state() -> None:
    """Numbers, reference, totals and items (numbered 1, 2; units back to ERP codes)."""
    state = load_mapping("tryton_sale_to_order_status").to_model(sale_record(), SalesOrderState)
    assert state == SalesOrderState(
        erp_number="17",
        external_reference="8015g00000ABCdEAAX",
        customer_erp_id="42",
        po_number="PO-4711",
        order_date=date(2026, 11, 20),
        currency="USD",
        status=OrderStatus.IN_ERP,
        net_total=usd("742.95"),
        lines=[
            SalesOrderItem(
                item_number="1",
                product_sku="LB-100",
                description="Ledger Adapter",
                quantity=Decimal(3),
                unit="EA",
                unit_price=usd("199.90"),
                net_amount=usd("599.70"),
            ),
            SalesOrderItem(
                item_number="2",
                product_sku="LB-300",
                quantity=Decimal("1.5"),
                unit="H",
                unit_price=usd("95.50"),
                net_amount=usd("143.25"),
            ),
        ],
    )


@pytest.mark.parametrize(
    ("state", "invoice_state", "hold", "status"),
    [
        ("draft", "none", "", OrderStatus.IN_ERP),
        ("quotation", "none", "", OrderStatus.IN_ERP),
        ("quotation", "none", "hold", OrderStatus.CREDIT_HOLD),
        ("confirmed", "none", "", OrderStatus.IN_ERP),
        ("processing", "pending", "", OrderStatus.IN_ERP),
        ("processing", "awaiting payment", "", OrderStatus.INVOICED),
        ("processing", "partially paid", "", OrderStatus.INVOICED),
        ("processing", "paid", "", OrderStatus.PAID),
        ("done", "paid", "", OrderStatus.CLOSED),
        ("cancelled", "none", "hold", OrderStatus.CANCELLED),
    ],
)
def test_sale_status_combines_state_invoice_state_and_hold(
    state: str, invoice_state: str, hold: str, status: OrderStatus
) -> None:
    """The sale's states and the credit hold flag give one canonical order status."""
    record = sale_record(state=state, invoice_state=invoice_state, credit_hold=hold)
    mapped = load_mapping("tryton_sale_to_order_status").to_model(record, SalesOrderState)
    assert mapped.status is status


def test_sale_in_a_unit_without_erp_code_names_the_line() -> None:
    """A Tryton unit with no ERP code fails the read, naming the line's unit symbol."""
    record = sale_record()
    record["lines"][1]["unit"] = {"id": 5, "symbol": "lb"}
    with pytest.raises(MappingError) as raised:
        load_mapping("tryton_sale_to_order_status").to_model(record, SalesOrderState)
    assert raised.value.field == "lines[1].unit.symbol"


def invoice_record(**changes: Any) -> dict[str, Any]:
    """A posted account.invoice as the adapter hands it over, with the payment flag added."""
    record: dict[str, Any] = {
        "id": 9,
        "state": "posted",
        "payment": "",
        "party": 42,
        "company": 1,
        "invoice_date": date(2026, 11, 24),
        "currency": {"id": 1, "code": "USD"},
        "untaxed_amount": Decimal("500.00"),
        "tax_amount": Decimal("0"),
        "total_amount": Decimal("500.00"),
        "move": {"id": 3, "number": "7", "period": {"id": 11, "fiscalyear": {"name": "2026"}}},
        "lines_to_pay": [{"id": 20, "maturity_date": date(2026, 12, 24)}],
        "sales": [{"id": 17, "description": "PO-4711"}],
        "lines": [
            {
                "id": 5,
                "type": "line",
                "product": {"id": 1, "code": "LB-100"},
                "description": None,
                "quantity": 2.0,
                "unit": {"id": 1, "symbol": "u"},
                "amount": Decimal("500.00"),
            }
        ],
    }
    return record | changes


def test_posted_invoice_reads_back_with_sale_move_and_due_date() -> None:
    """The invoice names its sale and PO, its move as accounting document, due the first date."""
    invoice = load_mapping("tryton_invoice_to_invoice").to_model(invoice_record(), Invoice)
    assert invoice == Invoice(
        erp_number="9",
        customer_erp_id="42",
        order_erp_number="17",
        po_number="PO-4711",
        company_code="1",
        fiscal_year="2026",
        accounting_document="7",
        invoice_date=date(2026, 11, 24),
        due_date=date(2026, 12, 24),
        currency="USD",
        status=InvoiceStatus.OPEN,
        lines=[
            InvoiceLine(
                item_number="1",
                product_sku="LB-100",
                quantity=Decimal(2),
                unit="EA",
                net_amount=usd("500.00"),
            )
        ],
        net_total=usd("500.00"),
        tax_total=usd("0"),
        gross_total=usd("500.00"),
    )


@pytest.mark.parametrize(
    ("state", "payment", "status"),
    [
        ("posted", "", InvoiceStatus.OPEN),
        ("posted", "partial", InvoiceStatus.PARTIALLY_PAID),
        ("paid", "", InvoiceStatus.PAID),
        ("cancelled", "", InvoiceStatus.CANCELLED),
    ],
)
def test_invoice_status_from_state_and_payment(
    state: str, payment: str, status: InvoiceStatus
) -> None:
    """Tryton's invoice state, and whether it is paid in part, give the canonical status."""
    record = invoice_record(state=state, payment=payment)
    invoice = load_mapping("tryton_invoice_to_invoice").to_model(record, Invoice)
    assert invoice.status is status


def test_invoice_lines_must_add_up_to_the_net_total() -> None:
    """A net total that is not the lines' sum is refused, naming Tryton's untaxed amount."""
    record = invoice_record(untaxed_amount=Decimal("400.00"), total_amount=Decimal("400.00"))
    with pytest.raises(MappingError) as raised:
        load_mapping("tryton_invoice_to_invoice").to_model(record, Invoice)
    assert raised.value.field == "untaxed_amount"


def test_party_credit_limit_reads_back_in_the_served_segment() -> None:
    """The party's limit, in the company currency, under the segment the adapter serves."""
    record = {"id": 2, "credit_limit_amount": Decimal("1000.00"), "credit_segment": "1000"}
    limit = load_mapping("tryton_credit_limit_to_credit_limit").to_model(
        record | {"currency": "USD"}, CreditLimit
    )
    assert limit == CreditLimit(customer_erp_id="2", credit_segment="1000", limit=usd("1000.00"))


def move_line(**changes: Any) -> dict[str, Any]:
    """A receivable account.move.line as the adapter hands it over (amount, currency added)."""
    record: dict[str, Any] = {
        "id": 3,
        "party": 42,
        "debit": Decimal("0"),
        "credit": Decimal("100.00"),
        "amount": Decimal("-100.00"),
        "currency": "USD",
        "cleared": False,
        "invoice": "9",
        "maturity_date": None,
        "reconciliation": None,
        "move": {
            "id": 8,
            "number": "12",
            "company": 1,
            "date": date(2026, 11, 25),
            "description": "PAY-1",
            "origin": "account.invoice,9",
            "period": {"id": 11, "fiscalyear": {"name": "2026"}},
        },
    }
    return record | changes


def test_receivable_line_reads_back_as_an_open_credit_item() -> None:
    """A payment's receivable line: a negative item of its move, naming the invoice paid."""
    item = load_mapping("tryton_receivable_line_to_receivable_item").to_model(
        move_line(), ReceivableItem
    )
    assert item == ReceivableItem(
        company_code="1",
        fiscal_year="2026",
        accounting_document="12",
        item="3",
        customer_erp_id="42",
        invoice_erp_number="9",
        reference="PAY-1",
        document_date=date(2026, 11, 25),
        amount=usd("-100.00"),
    )


def test_cleared_receivable_line_carries_its_clearing_date() -> None:
    """A reconciled line is cleared on the reconciliation's date."""
    record = move_line(cleared=True, reconciliation={"id": 2, "date": date(2026, 12, 1)})
    item = load_mapping("tryton_receivable_line_to_receivable_item").to_model(
        record, ReceivableItem
    )
    assert (item.cleared, item.clearing_date) == (True, date(2026, 12, 1))


def test_payment_line_reads_back_as_payment_of_its_invoice() -> None:
    """The pay wizard's line: the move is the document, its description the reference."""
    payment = load_mapping("tryton_payment_line_to_payment").to_model(move_line(), Payment)
    assert payment == Payment(
        erp_document="12",
        company_code="1",
        fiscal_year="2026",
        customer_erp_id="42",
        payment_date=date(2026, 11, 25),
        amount=usd("100.00"),
        reference="PAY-1",
        invoice_erp_numbers=["9"],
    )


def test_product_becomes_a_salable_service_template() -> None:
    """The SKU is the template's code, the unit a Tryton symbol; inactive stays inactive."""
    product = Product(sku="FX-HEDGE-STD", name="FX hedging", unit="H", active=False)
    assert apply("product_to_tryton_product", product) == {
        "code": "FX-HEDGE-STD",
        "name": "FX hedging",
        "unit_symbol": "h",
        "active": False,
        "type": "service",
        "salable": True,
    }


def test_tryton_product_reads_back_by_code() -> None:
    """The product's code is the SKU, the template's name its name, the unit an ERP code."""
    record = {
        "id": 7,
        "code": "FX-HEDGE-STD",
        "active": True,
        "template": {"id": 5, "name": "FX hedging"},
        "default_uom": {"id": 1, "symbol": "u"},
    }
    product = load_mapping("tryton_product_to_product").to_model(record, Product)
    assert product == Product(erp_id="7", sku="FX-HEDGE-STD", name="FX hedging", unit="EA")


def test_list_price_reads_back_as_the_products_one_price() -> None:
    """The template's list price, in the company currency, for any organisation and day."""
    record = {
        "id": 7,
        "code": "FX-HEDGE-STD",
        "active": True,
        "currency": "USD",
        "template": {"id": 5, "list_price": Decimal("199.0000")},
        "default_uom": {"id": 1, "symbol": "u"},
    }
    price = load_mapping("tryton_list_price_to_price").to_model(record, Price)
    assert price == Price(
        erp_id="7", product_sku="FX-HEDGE-STD", unit_price=usd("199.00"), unit="EA"
    )
