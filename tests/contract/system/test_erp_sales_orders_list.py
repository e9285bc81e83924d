"""Listing erp-sales-orders over HTTP against the ERP sandbox: filters by customer, status
and change time, offset cursors that serve every order once, bad filters named."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from tests.contract.system.conftest import PROBLEM, ErpWorld

from ledgerbridge.apis.system.erp_sales_orders.client import ErpSalesOrdersClient
from ledgerbridge.canonical import OrderStatus

BASE = "/system/erp-sales-orders/v1/sales-orders"


async def _order(erp: ErpWorld, customer: str, reference: str) -> str:
    """An order of two MAT at 100.00 for ``customer``; its number."""
    created = await erp.s4.create(
        "API_SALES_ORDER_SRV",
        "A_SalesOrder",
        {
            "SalesOrderType": "OR",
            "SalesOrganization": "1010",
            "DistributionChannel": "10",
            "OrganizationDivision": "00",
            "SoldToParty": customer,
            "PurchaseOrderByCustomer": reference,
            "TransactionCurrency": "EUR",
            "to_Item": [
                {
                    "Material": "MAT",
                    "RequestedQuantity": "2",
                    "RequestedQuantityUnit": "EA",
                    "to_PricingElement": [{"ConditionType": "PR00", "ConditionRateValue": "100"}],
                }
            ],
        },
    )
    return str(created.properties["SalesOrder"])


async def _walk(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every sales order the filters match, two per page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await http.get(BASE, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        items += page["items"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return items


async def test_a_full_walk_serves_every_order_once_and_filters_narrow_it(erp: ErpWorld) -> None:
    """Five orders of two customers: a walk two by two serves each once with its items;
    customer, status and changed_since keep only those that match."""
    await erp.product("MAT")
    first, second = await erp.customer("001A000001"), await erp.customer("001A000002")
    numbers = [await _order(erp, first, f"801A0000000000{n}") for n in range(3)]
    numbers.append(await _order(erp, second, "801A00000000003"))
    delivered = numbers[1]
    (await erp.admin.post(f"/sandbox/admin/sales-orders/{delivered}/deliver")).raise_for_status()
    (await erp.admin.post("/sandbox/admin/billing-run")).raise_for_status()  # completes it
    await asyncio.sleep(0.05)
    since = datetime.now(UTC)
    await asyncio.sleep(0.05)
    numbers.append(await _order(erp, second, "801A00000000004"))

    walked = await _walk(erp.api)
    assert sorted(o["erp_number"] for o in walked) == sorted(numbers)
    assert len(walked) == len(numbers)
    assert {o["net_total"]["amount"] for o in walked} == {"200.00"}
    assert all([line["product_sku"] for line in o["lines"]] == ["MAT"] for o in walked)

    by_customer = await _walk(erp.api, customer_erp_id=second)
    assert sorted(o["erp_number"] for o in by_customer) == sorted(numbers[3:])
    fulfilled = await _walk(erp.api, status="fulfilled")
    assert [o["erp_number"] for o in fulfilled] == [delivered]
    in_erp = await _walk(erp.api, status="in_erp", customer_erp_id=first)
    assert sorted(o["erp_number"] for o in in_erp) == sorted([numbers[0], numbers[2]])
    assert await _walk(erp.api, status="draft") == []
    changed = await _walk(erp.api, changed_since=since.isoformat())
    assert [o["erp_number"] for o in changed] == [numbers[4]]


async def test_the_client_pages_with_typed_filters(erp: ErpWorld) -> None:
    """The published client lists sales orders page by page with typed filters."""
    await erp.product("MAT")
    customer = await erp.customer()
    numbers = {await _order(erp, customer, f"801A0000000001{n}") for n in range(3)}
    client = ErpSalesOrdersClient(erp.api)
    first = await client.list_sales_orders(customer_erp_id=customer, limit=2)
    rest = await client.list_sales_orders(
        customer_erp_id=customer, limit=2, cursor=first.next_cursor
    )
    assert rest.next_cursor is None
    assert {o.erp_number for o in first.items + rest.items} == numbers
    assert {o.status for o in first.items + rest.items} == {OrderStatus.IN_ERP}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "shipped"}, "status"),
        ({"customer_erp_id": "not a number"}, "customer_erp_id"),
        ({"changed_since": "yesterday"}, "changed_since"),
        ({"changed_since": "2026-11-24T00:00:00"}, "changed_since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "bm90LWpzb24"}, "cursor"),
        ({"cursor": "eyJvZmZzZXQiOi0xfQ"}, "cursor"),
    ],
)
async def test_bad_filters_are_problems_naming_the_field(
    erp: ErpWorld, params: dict[str, str], field: str
) -> None:
    """A filter or cursor the API cannot take is a 422 problem+json naming it."""
    response = await erp.api.get(BASE, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert any(field in error["field"] for error in response.json()["errors"]), response.json()
