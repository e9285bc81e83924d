"""mobile: compact items, cursor pages, sparse fieldsets and ETag / 304 over the sandboxes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.browser.world import World, open_world

BASE = "/experience/mobile/v1"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Both sandboxes and the house in front of them."""
    async with open_world(tmp_path) as opened:
        yield opened


async def test_invoices_page_by_cursor_until_the_last(world: World) -> None:
    """Three invoices at two per page: two, then one with no next cursor, none repeated."""
    customer = await world.customer()
    numbers = {await world.invoice(customer, price=price) for price in ("10.00", "20.00", "30.00")}

    first = (await world.api.get(f"{BASE}/customers/{customer.crm_id}/invoices?limit=2")).json()
    second = (
        await world.api.get(
            f"{BASE}/customers/{customer.crm_id}/invoices",
            params={"limit": 2, "cursor": first["next_cursor"]},
        )
    ).json()

    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert "next_cursor" not in second
    assert {item["number"] for item in first["items"] + second["items"]} == numbers


async def test_fields_keep_only_the_keys_named(world: World) -> None:
    """``fields=number,total`` gives items with exactly those two keys."""
    customer = await world.customer()
    await world.invoice(customer)

    answer = await world.api.get(
        f"{BASE}/customers/{customer.crm_id}/invoices", params={"fields": "total,number"}
    )

    assert answer.status_code == 200, answer.text
    assert [set(item) for item in answer.json()["items"]] == [{"number", "total"}]


async def test_an_unknown_field_is_a_422_naming_fields(world: World) -> None:
    """A misspelt field name is refused with a problem naming the ``fields`` parameter."""
    customer = await world.customer()

    answer = await world.api.get(
        f"{BASE}/customers/{customer.crm_id}/invoices", params={"fields": "number,totl"}
    )

    assert answer.status_code == 422
    assert "fields" in answer.text
    assert "totl" in answer.text


async def test_a_foreign_cursor_is_a_422(world: World) -> None:
    """A cursor that is not one of ours is refused, naming ``cursor``."""
    customer = await world.customer()

    answer = await world.api.get(
        f"{BASE}/customers/{customer.crm_id}/invoices", params={"cursor": "not-a-cursor"}
    )

    assert answer.status_code == 422
    assert "cursor" in answer.text


async def test_etag_gives_304_until_the_list_changes(world: World) -> None:
    """The same ETag back is a bodiless 304; after a new invoice it is a 200 with a new ETag."""
    customer = await world.customer()
    await world.invoice(customer)
    url = f"{BASE}/customers/{customer.crm_id}/invoices"

    first = await world.api.get(url)
    tag = first.headers["ETag"]
    unchanged = await world.api.get(url, headers={"If-None-Match": tag})
    await world.invoice(customer, price="55.00")
    changed = await world.api.get(url, headers={"If-None-Match": tag})

    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == tag
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag
    assert len(changed.json()["items"]) == 2


async def test_items_are_compact(world: World) -> None:
    """An invoice item is flat: no lines, no nested money, and null fields left out."""
    customer = await world.customer()
    number = await world.invoice(customer, price="100.00")

    item = (await world.api.get(f"{BASE}/customers/{customer.crm_id}/invoices")).json()["items"][0]

    assert item["number"] == number
    assert item["currency"] == "EUR"
    assert "lines" not in item
    assert None not in item.values()


async def test_an_order_is_flat_and_cut_to_the_fields_asked(world: World) -> None:
    """An order started through order-to-cash reads flat; ``fields=status`` keeps only it."""
    order_id = await world.crm_order(await world.customer())
    await world.start_order(order_id)

    whole = (await world.api.get(f"{BASE}/orders/{order_id}")).json()
    cut = (await world.api.get(f"{BASE}/orders/{order_id}", params={"fields": "status"})).json()

    assert whole["id"] == order_id
    assert whole["status"] == "in_erp"
    assert whole["steps"] >= 1
    assert cut == {"status": "in_erp"}
