"""Property: an Order sent to S/4HANA as a deep insert reads back with the same shared fields."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledgerbridge.canonical import Money, Order, OrderLine, OrderStatus, SalesOrderState
from ledgerbridge.mapping import load_mapping


def words(max_size: int) -> st.SearchStrategy[str]:
    """Text without leading or trailing blanks, as the canonical models keep it."""
    return st.from_regex(
        rf"[A-Za-z0-9]([A-Za-z0-9 ./-]{{0,{max_size - 2}}}[A-Za-z0-9])?", fullmatch=True
    )


def decimals(places: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(1).scaleb(-places), max_value=high, places=places, allow_nan=False
    )


@st.composite
def orders(draw: st.DrawFn) -> Order:
    currency = draw(st.sampled_from(["EUR", "USD", "JPY", "KWD", "CHF"]))
    count = draw(st.integers(min_value=1, max_value=5))
    lines = []
    for number in range(1, count + 1):
        price = Money(amount=draw(decimals(4, 100_000)), currency=currency)
        quantity = draw(decimals(3, 10_000))
        lines.append(
            OrderLine(
                line_number=number,
                product_sku=draw(words(18)),
                description=draw(st.none() | words(40)),
                quantity=quantity,
                unit=draw(st.sampled_from(["EA", "PC", "H", "KG"])),
                unit_price=price,
                net_amount=(price * quantity).rounded(),
            )
        )
    return Order(
        crm_id=draw(words(18)),
        crm_number=draw(st.none() | words(8)),
        customer_erp_id=draw(words(10)),
        order_date=draw(st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31))),
        currency=currency,
        status=draw(st.sampled_from(OrderStatus)),
        po_number=draw(st.none() | words(35)),
        lines=lines,
        net_total=Money.total((line.net_amount for line in lines), currency),
    )


def read_payload_back(payload: dict[str, Any]) -> SalesOrderState:
    """Read a sales order deep-insert payload as the ERP's view of the order."""
    return load_mapping("s4_sales_order_to_order_status").to_model(payload, SalesOrderState)


@given(orders())
def test_order_survives_the_s4_payload(order: Order) -> None:
    """Every field both sides hold comes back equal; the JSON dump of an Order maps the same."""
    payload = load_mapping("order_to_s4_sales_order").apply(order)
    assert load_mapping("order_to_s4_sales_order").apply(order.model_dump(mode="json")) == payload
    state = read_payload_back(payload)
    assert state.external_reference == order.crm_id
    assert state.customer_erp_id == order.customer_erp_id
    assert state.po_number is None  # the customer reference holds the CRM order id instead
    assert state.order_date == order.order_date
    assert state.currency == order.currency
    assert [
        (
            item.item_number,
            item.product_sku,
            item.description,
            item.quantity,
            item.unit,
            item.unit_price,
        )
        for item in state.lines
    ] == [
        (
            str(10 * line.line_number),
            line.product_sku,
            line.description,
            line.quantity,
            line.unit,
            line.unit_price,
        )
        for line in order.lines
    ]
