"""sales-desk: quote checks priced and judged against the ERP sandbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.browser.world import Customer, World, open_world

URL = "/experience/sales-desk/v1/quote-checks"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Both sandboxes and the house in front of them."""
    async with open_world(tmp_path) as opened:
        yield opened


def _sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:6].upper()}"


async def _check(world: World, customer: Customer, *lines: tuple[str, str]) -> dict[str, Any]:
    body = {
        "customer_crm_id": customer.crm_id,
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }
    answer = await world.api.post(URL, json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_a_quote_within_the_limit_would_be_auto_approved(world: World) -> None:
    """Two priced lines total 3 x 100 + 2 x 25.50; within a 1000 limit the verdict is
    auto_approve, and the headroom after the order is shown."""
    customer = await world.customer()
    first, second = _sku(), _sku()
    await world.priced_product(first, "100.00")
    await world.priced_product(second, "25.50")
    await world.credit_limit(customer, "1000.00")

    check = await _check(world, customer, (first, "3"), (second, "2"))

    assert [Decimal(line["net"]["amount"]) for line in check["lines"]] == [
        Decimal("300.00"),
        Decimal("51.00"),
    ]
    assert {line["availability"] for line in check["lines"]} == {"available"}
    assert Decimal(check["total"]["amount"]) == Decimal("351.00")
    assert Decimal(check["credit"]["available_after"]["amount"]) == Decimal("649.00")
    assert check["decision"]["verdict"] == "auto_approve"


async def test_a_quote_over_the_limit_would_be_referred(world: World) -> None:
    """An order larger than the credit left is referred, with the figures in the reason."""
    customer = await world.customer()
    sku = _sku()
    await world.priced_product(sku, "400.00")
    await world.credit_limit(customer, "1000.00")

    check = await _check(world, customer, (sku, "3"))

    assert check["decision"]["verdict"] == "refer"
    assert "1200.00 EUR" in check["decision"]["reasons"][0]
    assert Decimal(check["credit"]["available_after"]["amount"]) == Decimal("-200.00")


async def test_unknown_and_inactive_products_are_not_orderable(world: World) -> None:
    """A SKU the ERP does not know and an inactive one make the quote not orderable."""
    customer = await world.customer()
    inactive, unknown = _sku(), _sku()
    await world.priced_product(inactive, "10.00", active=False)

    check = await _check(world, customer, (inactive, "1"), (unknown, "1"))

    assert [line["availability"] for line in check["lines"]] == ["inactive", "unknown_product"]
    assert check["decision"]["verdict"] == "not_orderable"
    assert check["lines"][1]["net"] is None


async def test_with_the_erp_down_the_verdict_is_unknown(world: World) -> None:
    """With the ERP sandbox stopped, the check still answers: verdict unknown, each ERP
    source marked unavailable."""
    customer = await world.customer()
    sku = _sku()
    await world.priced_product(sku, "10.00")
    await world.stop_erp()

    check = await _check(world, customer, (sku, "1"))

    assert check["decision"]["verdict"] == "unknown"
    assert check["sources"]["profile"]["state"] == "ok"
    assert check["sources"][f"price:{sku}"]["state"] == "unavailable"
    assert check["sources"]["credit"]["state"] == "unavailable"


async def test_a_zero_quantity_is_a_422_naming_the_field(world: World) -> None:
    """A line with quantity 0 is refused, naming the quantity field."""
    customer = await world.customer()

    answer = await world.api.post(
        URL, json={"customer_crm_id": customer.crm_id, "lines": [{"sku": "X", "quantity": "0"}]}
    )

    assert answer.status_code == 422
    assert "quantity" in answer.text
