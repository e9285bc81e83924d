"""Orders and order lines keep their money invariants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from ledgerbridge.canonical import Money, Order, OrderLine, OrderStatus


def money(amount: str, currency: str = "EUR") -> Money:
    return Money(amount=Decimal(amount), currency=currency)


def line(
    number: int = 1,
    quantity: str = "3",
    price: str = "19.99",
    net: str = "59.97",
    currency: str = "EUR",
) -> OrderLine:
    return OrderLine(
        line_number=number,
        product_sku="TG11",
        quantity=Decimal(quantity),
        unit="EA",
        unit_price=money(price, currency),
        net_amount=money(net, currency),
    )


def order(**changes: Any) -> Order:
    fields: dict[str, Any] = {
        "crm_id": "8015g00000ABCdEAAX",
        "order_date": date(2026, 11, 20),
        "currency": "EUR",
        "status": OrderStatus.ACTIVATED,
        "lines": [line(1), line(2, "1.5", "100.1", "150.15")],
        "net_total": money("210.12"),
    }
    return Order(**(fields | changes))


def test_valid_order_keeps_its_lines_and_total() -> None:
    """An order whose total is the sum of its lines validates."""
    built = order()
    assert built.net_total == money("210.12")
    assert [item.line_number for item in built.lines] == [1, 2]


def test_line_net_amount_must_be_quantity_times_price_rounded() -> None:
    """A net amount a cent off quantity x price (rounded half up) is refused on net_amount."""
    assert line(quantity="3", price="0.125", net="0.38").net_amount == money("0.38")
    with pytest.raises(ValidationError) as caught:
        line(net="59.98")
    assert caught.value.errors()[0]["loc"] == ("net_amount",)


def test_line_net_amount_must_be_in_the_price_currency() -> None:
    """Price in EUR and net amount in USD is refused."""
    with pytest.raises(ValidationError, match="differs from unit price"):
        OrderLine(
            line_number=1,
            product_sku="TG11",
            quantity=Decimal(1),
            unit="EA",
            unit_price=money("1"),
            net_amount=money("1", "USD"),
        )


@pytest.mark.parametrize("quantity", ["0", "-1"])
def test_line_quantity_must_be_positive(quantity: str) -> None:
    """Zero and negative quantities are refused."""
    with pytest.raises(ValidationError, match="greater than 0"):
        line(quantity=quantity, net="0")


def test_order_total_must_be_the_sum_of_lines() -> None:
    """A total that differs from the lines' sum is refused on net_total."""
    with pytest.raises(ValidationError) as caught:
        order(net_total=money("210.13"))
    assert caught.value.errors()[0]["loc"] == ("net_total",)


def test_every_line_must_be_in_the_order_currency() -> None:
    """A USD line in a EUR order is refused on lines."""
    with pytest.raises(ValidationError) as caught:
        order(lines=[line(currency="USD")], net_total=money("59.97", "USD"))
    assert caught.value.errors()[0]["loc"] == ("lines",)


def test_order_needs_at_least_one_line() -> None:
    """An order without lines is refused."""
    with pytest.raises(ValidationError, match="at least 1 item"):
        order(lines=[], net_total=money("0"))


def test_status_is_a_closed_set() -> None:
    """Only the order-to-cash statuses are accepted, as strings or members."""
    assert order(status="in_erp").status is OrderStatus.IN_ERP
    with pytest.raises(ValidationError):
        order(status="shipped")
