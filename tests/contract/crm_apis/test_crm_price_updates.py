"""crm-price-books price updates over HTTP against the CRM sandbox: an entry's price and
activity change in place; its price book and product are fixed once it exists."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"
BASE = "/system/crm-price-books/v1"


async def _entry(system: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    """A standard price book entry for a new product, and its ETag."""
    product = await system.post(
        "/system/crm-products/v1/products",
        json={"sku": "CUSTODY-BASIC", "name": "Custody account", "unit": "EA", "active": True},
    )
    assert product.status_code == 201, product.text
    books = (await system.get(f"{BASE}/price-books")).json()["items"]
    (standard,) = [book for book in books if book["standard"]]
    created = await system.post(
        f"{BASE}/prices",
        json={
            "price_book_crm_id": standard["crm_id"],
            "product_crm_id": product.json()["crm_id"],
            "product_sku": "CUSTODY-BASIC",
            "unit_price": {"amount": "150.00", "currency": "EUR"},
            "active": True,
        },
    )
    assert created.status_code == 201, created.text
    return created.json(), created.headers["ETag"]


async def test_a_price_update_changes_the_amount_in_place(system: httpx.AsyncClient) -> None:
    """PUT of the entry as read, with a new amount and activity, updates that entry (its
    price book and product sent unchanged are accepted, not written)."""
    entry, etag = await _entry(system)
    url = f"{BASE}/prices/{entry['crm_id']}"

    body = {**entry, "unit_price": {"amount": "160.00", "currency": "EUR"}, "active": False}
    updated = await system.put(url, json=body, headers={"If-Match": etag})

    assert updated.status_code == 200, updated.text
    assert updated.json() == body
    assert updated.headers["ETag"] != etag
    assert (await system.get(url)).json() == body


async def test_a_price_update_may_not_move_the_entry(system: httpx.AsyncClient) -> None:
    """A body naming another price book or product is refused (422) naming the field, and
    nothing is written."""
    entry, etag = await _entry(system)
    url = f"{BASE}/prices/{entry['crm_id']}"
    other = await system.post(
        f"{BASE}/price-books", json={"name": "Institutional 2027", "active": True}
    )
    moves = {
        "price_book_crm_id": other.json()["crm_id"],
        "product_crm_id": "01t000000000000AAA",
    }

    for field, value in moves.items():
        response = await system.put(url, json={**entry, field: value}, headers={"If-Match": etag})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (await system.get(url)).json() == entry
