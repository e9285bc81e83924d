"""finance-dashboard: KPIs, daily series, receivables aging and DSO over the sandboxes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.browser.world import World, open_world

URL = "/experience/finance-dashboard/v1/dashboard"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Both sandboxes and the house in front of them."""
    async with open_world(tmp_path) as opened:
        yield opened


async def _orders_through_the_saga(world: World, count: int) -> None:
    customer = await world.customer()
    for _ in range(count):
        order_id = await world.crm_order(customer)
        started = await world.api.post(
            "/process/order-to-cash/v1/orders", json={"crm_order_id": order_id}
        )
        assert started.status_code in (200, 201), started.text


async def test_dashboard_has_kpis_series_and_aging(world: World) -> None:
    """Two orders captured today show in the KPIs and today's point; one open invoice makes
    the EUR aging and a DSO of (open / billed) x days."""
    await _orders_through_the_saga(world, 2)
    customer = await world.customer("Aging Holdings")
    await world.invoice(customer, price="100.00")

    answer = await world.api.get(URL, params={"days": 7})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {name: s["state"] for name, s in body["sources"].items()} == {
        "kpis": "ok",
        "series": "ok",
        "aging": "ok",
    }
    assert body["kpis"]["cases"] == 2
    assert len(body["series"]) == 7
    today = body["series"][-1]
    assert today["day"] == datetime.now(UTC).date().isoformat()
    assert today["captured"] == 2
    (eur,) = body["aging"]
    assert eur["currency"] == "EUR"
    open_total = Decimal(eur["open_total"]["amount"])
    billed = Decimal(eur["billed_in_window"]["amount"])
    assert open_total > 0
    assert billed > 0
    assert sum(Decimal(b["amount"]["amount"]) for b in eur["buckets"]) == open_total
    assert Decimal(eur["dso_days"]) == (open_total / billed * 7).quantize(Decimal("0.1"))


async def test_dashboard_with_the_erp_down_keeps_the_process_parts(world: World) -> None:
    """With the ERP sandbox stopped, KPIs and series still come; aging is null and marked."""
    await _orders_through_the_saga(world, 1)
    await world.stop_erp()

    body = (await world.api.get(URL)).json()

    assert body["kpis"]["cases"] == 1
    assert body["series"][-1]["captured"] == 1
    assert body["aging"] is None
    assert body["sources"]["aging"]["state"] == "unavailable"


async def test_days_out_of_range_is_a_422(world: World) -> None:
    """A window of 0 days is refused, naming ``days``."""
    answer = await world.api.get(URL, params={"days": 0})

    assert answer.status_code == 422
    assert "days" in answer.text
