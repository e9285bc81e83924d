"""Listing erp-customers over HTTP against the ERP sandbox: every customer once, by CRM id
and change day, bad filters named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.contract.system.conftest import PROBLEM, ErpWorld

from ledgerbridge.apis.system.erp_customers.client import ErpCustomersClient

BASE = "/system/erp-customers/v1/customers"


async def _customer(erp: ErpWorld, crm_id: str) -> str:
    """A customer for CRM account ``crm_id``, made through the API; its ERP id."""
    party = {
        "crm_id": crm_id,
        "name": f"Meridian Capital {crm_id[-2:]}",
        "billing_address": {
            "street": "Taunusanlage 12",
            "city": "Frankfurt",
            "postal_code": "60325",
            "country": "DE",
        },
    }
    response = await erp.api.post(BASE, json=party)
    assert response.status_code == 201, response.text
    return str(response.json()["erp_id"])


async def _walk(erp: ErpWorld, **params: Any) -> list[dict[str, Any]]:
    """Every customer the filters match, two per page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await erp.api.get(BASE, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        items += page["items"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return items


async def test_a_full_walk_serves_every_customer_once_and_filters_narrow_it(
    erp: ErpWorld,
) -> None:
    """Five customers page two by two, each once with its address; crm_id finds one;
    changed_since of yesterday keeps them all, of tomorrow none."""
    crm_ids = [f"001A00000{n}" for n in range(5)]
    numbers = [await _customer(erp, crm_id) for crm_id in crm_ids]

    walked = await _walk(erp)
    assert [c["erp_id"] for c in walked] == sorted(numbers)
    assert {c["crm_id"] for c in walked} == set(crm_ids)
    assert {c["billing_address"]["city"] for c in walked} == {"Frankfurt"}

    (found,) = await _walk(erp, crm_id=crm_ids[3])
    assert found["erp_id"] == numbers[3]
    assert await _walk(erp, crm_id="001A0000NOSUCH") == []
    yesterday = datetime.now(UTC) - timedelta(days=1)
    assert len(await _walk(erp, changed_since=yesterday.isoformat())) == 5
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await _walk(erp, changed_since=tomorrow.isoformat()) == []


async def test_the_client_pages_with_typed_filters(erp: ErpWorld) -> None:
    """The published client lists customers page by page."""
    numbers = {await _customer(erp, f"001A00001{n}") for n in range(3)}
    client = ErpCustomersClient(erp.api)
    first = await client.list_customers(limit=2)
    rest = await client.list_customers(limit=2, cursor=first.next_cursor)
    assert rest.next_cursor is None
    assert {c.erp_id for c in first.items + rest.items} == numbers
    (one,) = (await client.list_customers(crm_id="001A000011")).items
    assert one.crm_id == "001A000011"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"crm_id": "not an id"}, "crm_id"),
        ({"changed_since": "yesterday"}, "changed_since"),
        ({"changed_since": "2026-11-24T00:00:00"}, "changed_since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "bm90LWpzb24"}, "cursor"),
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
