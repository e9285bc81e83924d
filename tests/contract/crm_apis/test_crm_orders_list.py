"""Listing CRM orders (v1 with lines, v2 as summaries) over HTTP against the CRM sandbox:
filters, cursor paging that serves every order once, bad filters named."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.contract.crm_apis.conftest import open_system

from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.runtime.settings import Settings

V1 = "/system/crm-orders/v1/orders"
V2 = "/system/crm-orders/v2/orders"
PROBLEM = "application/problem+json"


@dataclass
class Orders:
    """The System layer over a CRM holding two accounts' orders, and what was created."""

    http: httpx.AsyncClient
    crm: SalesforceClient
    accounts: list[str]
    # account id -> its order ids; the first account's first order is the only Activated one
    orders: dict[str, list[str]]


async def _order(crm: SalesforceClient, account: str, product: str, quantity: int) -> str:
    order = await crm.create(
        "Order",
        {
            "AccountId": account,
            "EffectiveDate": "2026-11-20",
            "Status": "Draft",
            "CurrencyIsoCode": "EUR",
        },
    )
    for price in ("150.00", "20.00"):
        await crm.create(
            "OrderItem",
            {"OrderId": order, "Product2Id": product, "Quantity": quantity, "UnitPrice": price},
        )
    return order


@pytest.fixture
async def orders(tmp_path: Path) -> AsyncIterator[Orders]:
    """Seven orders of one account and four of another, each with two lines."""
    async with open_system(tmp_path) as (http, crm_url):
        settings = Settings(salesforce={"base_url": crm_url})
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        try:
            product = await crm.create(
                "Product2", {"Name": "Custody account", "ProductCode": "LB-100", "IsActive": True}
            )
            accounts = [
                await crm.create("Account", {"Name": name, "CurrencyIsoCode": "EUR"})
                for name in ("Meridian Capital", "Harbour Trust")
            ]
            made: dict[str, list[str]] = {}
            for account, count in zip(accounts, (7, 4), strict=True):
                made[account] = [await _order(crm, account, product, n + 1) for n in range(count)]
            await crm.update("Order", made[accounts[0]][0], {"Status": "Activated"})
            yield Orders(http=http, crm=crm, accounts=accounts, orders=made)
        finally:
            await crm.aclose()


async def _walk(http: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, page by page (three per page)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await http.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        items += page["items"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return items


async def test_a_full_walk_serves_every_order_once_with_its_lines(orders: Orders) -> None:
    """Paged three at a time, v1 serves all eleven orders once, by CRM id, each with both
    lines and its total."""
    walked = await _walk(orders.http, V1)
    ids = [order["crm_id"] for order in walked]
    everything = sorted(o for made in orders.orders.values() for o in made)
    assert ids == everything
    first = next(o for o in walked if o["crm_id"] == orders.orders[orders.accounts[0]][2])
    assert [line["unit_price"]["amount"] for line in first["lines"]] == ["150.00", "20.00"]
    assert first["net_total"] == {"amount": "510.00", "currency": "EUR"}


async def test_v2_lists_summaries_with_line_counts(orders: Orders) -> None:
    """v2 pages the same orders as summaries: no lines, a line count and the total."""
    walked = await _walk(orders.http, V2, account_id=orders.accounts[1])
    assert [o["crm_id"] for o in walked] == sorted(orders.orders[orders.accounts[1]])
    assert {o["line_count"] for o in walked} == {2}
    assert all("lines" not in o for o in walked)


async def test_filters_narrow_the_list(orders: Orders) -> None:
    """account_id, status and changed_since each keep only the orders that match."""
    second = orders.accounts[1]
    by_account = await _walk(orders.http, V1, account_id=second)
    assert sorted(o["crm_id"] for o in by_account) == sorted(orders.orders[second])
    assert {o["customer_crm_id"] for o in by_account} == {second}
    activated = await _walk(orders.http, V1, status="activated")
    assert [o["crm_id"] for o in activated] == [orders.orders[orders.accounts[0]][0]]
    drafts = await _walk(orders.http, V1, status="draft", account_id=orders.accounts[0])
    assert len(drafts) == 6
    assert await _walk(orders.http, V1, status="paid") == []
    await asyncio.sleep(1.1)  # the CRM compares whole seconds
    since = datetime.now(UTC)
    await asyncio.sleep(1.1)
    touched = orders.orders[second][1]
    await orders.crm.update("Order", touched, {"PoNumber": "PO-4711"})
    changed = await _walk(orders.http, V1, changed_since=since.isoformat())
    assert [(o["crm_id"], o["po_number"]) for o in changed] == [(touched, "PO-4711")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "shipped"}, "status"),
        ({"account_id": "not-an-id"}, "account_id"),
        ({"changed_since": "yesterday"}, "changed_since"),
        ({"changed_since": "2026-11-24T00:00:00"}, "changed_since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "bm90LWpzb24"}, "cursor"),
        ({"cursor": "eyJhZnRlciI6IjsgREVMRVRFIn0"}, "cursor"),
    ],
)
@pytest.mark.parametrize("path", [V1, V2])
async def test_bad_filters_are_problems_naming_the_field(
    system: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    """A filter or cursor the API cannot take is a 422 problem+json naming it."""
    response = await system.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert any(field in error["field"] for error in response.json()["errors"]), response.json()
