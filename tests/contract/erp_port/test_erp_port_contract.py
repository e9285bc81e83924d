"""The ERP port's contract: both adapters answer the same scenarios with the same canonical data."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from tests.contract.erp_port.conftest import crm_id

from ledgerbridge.apis.system._erp import ErpPort
from ledgerbridge.canonical import (
    Address,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Party,
    SalesOrderState,
)
from ledgerbridge.runtime.errors import NotFound


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def a_party() -> Party:
    return Party(
        crm_id=crm_id("001"),
        name="Meridian Capital Partners",
        billing_address=Address(
            street="12 Taunusanlage", city="Frankfurt am Main", postal_code="60325", country="DE"
        ),
    )


def an_order(customer_erp_id: str) -> Order:
    """Three LB-100 at 199.90 and two LB-300 at 49.50, in USD."""
    return Order(
        crm_id=crm_id("801"),
        customer_erp_id=customer_erp_id,
        order_date=date(2026, 11, 20),
        currency="USD",
        status=OrderStatus.ACTIVATED,
        lines=[
            OrderLine(
                line_number=1,
                product_sku="LB-100",
                quantity=Decimal(3),
                unit="EA",
                unit_price=usd("199.90"),
                net_amount=usd("599.70"),
            ),
            OrderLine(
                line_number=2,
                product_sku="LB-300",
                quantity=Decimal(2),
                unit="EA",
                unit_price=usd("49.50"),
                net_amount=usd("99.00"),
            ),
        ],
        net_total=usd("698.70"),
    )


def header(state: SalesOrderState) -> tuple[object, ...]:
    """What both ERPs fill in alike on the order: reference, currency, status, total."""
    return (state.external_reference, state.currency, state.status, state.net_total)


def items(state: SalesOrderState) -> list[tuple[object, ...]]:
    """The items as product, quantity, unit and net amount, by product."""
    return sorted((i.product_sku, i.quantity, i.unit, i.net_amount) for i in state.lines)


async def test_customer_is_created_once_and_read_back(erp: ErpPort) -> None:
    """ensure_customer creates, then finds the same customer by CRM id; get reads it back."""
    party = a_party()
    created, was_created = await erp.ensure_customer(party)
    again, created_again = await erp.ensure_customer(party)
    assert (was_created, created_again) == (True, False)
    assert created.erp_id is not None
    assert again == created
    assert (created.crm_id, created.name) == (party.crm_id, party.name)
    assert await erp.get_customer(created.erp_id) == created


async def test_sales_order_is_created_once_with_the_same_canonical_content(erp: ErpPort) -> None:
    """A sales order keyed by the CRM order id: created, then found; same content either way."""
    customer, _ = await erp.ensure_customer(a_party())
    assert customer.erp_id is not None
    order = an_order(customer.erp_id)
    state, created = await erp.create_sales_order(order)
    again, created_again = await erp.create_sales_order(order)
    assert (created, created_again) == (True, False)
    assert state.erp_number is not None
    assert again.erp_number == state.erp_number
    assert state.customer_erp_id == customer.erp_id
    assert header(state) == (order.crm_id, "USD", OrderStatus.IN_ERP, usd("698.70"))
    assert header(await erp.get_sales_order(state.erp_number)) == header(state)


@pytest.mark.parametrize(
    "erp",
    ["s4hana", pytest.param("tryton", marks=pytest.mark.slow)],
    indirect=True,
)
async def test_sales_order_items_read_back_alike(erp: ErpPort) -> None:
    """The items come back with product, quantity, unit and net amount, in either ERP."""
    customer, _ = await erp.ensure_customer(a_party())
    assert customer.erp_id is not None
    state, _ = await erp.create_sales_order(an_order(customer.erp_id))
    assert items(state) == [
        ("LB-100", Decimal(3), "EA", usd("599.70")),
        ("LB-300", Decimal(2), "EA", usd("99.00")),
    ]


@pytest.mark.parametrize("erp_id", ["9999999", "NOPE"])
async def test_unknown_records_are_not_found(erp: ErpPort, erp_id: str) -> None:
    """An id the ERP does not hold raises NotFound, for customers and for sales orders."""
    with pytest.raises(NotFound):
        await erp.get_customer(erp_id)
    with pytest.raises(NotFound):
        await erp.get_sales_order(erp_id)


async def _numbers(
    erp: ErpPort, *, customer_erp_id: str | None, status: OrderStatus | None = None, page: int = 2
) -> list[str]:
    """Every sales order number the filters match, ``page`` at a time."""
    numbers: list[str] = []
    while True:
        window = await erp.list_sales_orders(
            customer_erp_id=customer_erp_id,
            status=status,
            changed_since=None,
            offset=len(numbers),
            limit=page,
        )
        numbers += [str(state.erp_number) for state in window]
        if len(window) < page:
            return numbers


async def test_sales_orders_are_listed_once_each_and_filtered(erp: ErpPort) -> None:
    """A customer's orders, two per page, come once each and as get_sales_order reads them;
    status and changed_since narrow the list; a status no ERP order has matches none."""
    customer, _ = await erp.ensure_customer(a_party())
    other, _ = await erp.ensure_customer(a_party())
    assert customer.erp_id is not None
    assert other.erp_id is not None
    made = [(await erp.create_sales_order(an_order(customer.erp_id)))[0] for _ in range(2)]
    await erp.create_sales_order(an_order(other.erp_id))
    await asyncio.sleep(1.1)  # clear of the clock's resolution on either side
    since = datetime.now(UTC)
    await asyncio.sleep(1.1)
    made.append((await erp.create_sales_order(an_order(customer.erp_id)))[0])
    wanted = [str(state.erp_number) for state in made]

    listed = await _numbers(erp, customer_erp_id=customer.erp_id)
    assert sorted(listed) == sorted(wanted)
    assert len(listed) == len(set(listed))
    (state,) = await erp.list_sales_orders(
        customer_erp_id=customer.erp_id, status=None, changed_since=since, offset=0, limit=10
    )
    assert state == await erp.get_sales_order(wanted[2])
    assert items(state) == items(made[2])
    in_erp = await _numbers(erp, customer_erp_id=customer.erp_id, status=OrderStatus.IN_ERP)
    assert sorted(in_erp) == sorted(wanted)
    for status in (OrderStatus.CANCELLED, OrderStatus.CREDIT_HOLD, OrderStatus.DRAFT):
        assert await _numbers(erp, customer_erp_id=customer.erp_id, status=status) == []
    assert await _numbers(erp, customer_erp_id="9999999") == []


async def test_customers_are_listed_once_each_and_found_by_crm_id(erp: ErpPort) -> None:
    """Customers, two per page, come once each as get_customer reads them; a CRM id finds
    its one customer; changed_since keeps those changed after it (a day ahead: none)."""
    before = datetime.now(UTC) - timedelta(minutes=5)
    made = [(await erp.ensure_customer(a_party()))[0] for _ in range(3)]
    walked: list[Party] = []
    while True:
        window = await erp.list_customers(
            crm_id=None, changed_since=None, offset=len(walked), limit=2
        )
        walked += window
        if len(window) < 2:
            break
    ids = [party.erp_id for party in walked]
    assert len(ids) == len(set(ids))
    assert [party for party in walked if party in made] == made
    assert await erp.list_customers(
        crm_id=made[1].crm_id, changed_since=None, offset=0, limit=10
    ) == [await erp.get_customer(str(made[1].erp_id))]
    recent = await erp.list_customers(crm_id=None, changed_since=before, offset=0, limit=200)
    assert all(party in recent for party in made)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await erp.list_customers(crm_id=None, changed_since=tomorrow, offset=0, limit=10) == []
    assert (
        await erp.list_customers(crm_id="001NOSUCHACCOUNT", changed_since=None, offset=0, limit=10)
        == []
    )
