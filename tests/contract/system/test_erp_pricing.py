"""erp-pricing over HTTP against the ERP sandbox: list prices keyed by product and start date."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.contract.system.conftest import PROBLEM, ErpWorld

BASE = "/system/erp-pricing/v1"


def _price(sku: str = "MAT", amount: str = "120.00", **changes: Any) -> dict[str, Any]:
    return {
        "product_sku": sku,
        "sales_organization": "1010",
        "distribution_channel": "10",
        "unit_price": {"amount": amount, "currency": "EUR"},
        "unit": "EA",
        "valid_from": "2027-01-01",
        **changes,
    }


async def test_upsert_creates_once_and_a_repeat_changes_nothing(erp: ErpWorld) -> None:
    """A first POST creates a condition record (201); the same body again is 200, same version."""
    await erp.product("MAT")

    first = await erp.api.post(f"{BASE}/prices", json=_price())
    again = await erp.api.post(f"{BASE}/prices", json=_price())

    assert first.status_code == 201, first.text
    assert again.status_code == 200
    body = first.json()
    assert body == again.json()
    assert body["erp_id"] == "0000000001"
    assert body["product_sku"] == "MAT"
    assert Decimal(body["unit_price"]["amount"]) == Decimal("120.00")
    assert body["unit_price"]["currency"] == "EUR"
    assert body["valid_from"] == "2027-01-01"
    assert body["valid_to"] is None
    assert first.headers["ETag"] == again.headers["ETag"]
    assert first.headers["Location"] == f"{BASE}/prices/0000000001"


async def test_upsert_with_a_new_amount_changes_the_same_record(erp: ErpWorld) -> None:
    """POST of a new amount for the same key updates that record instead of adding one."""
    await erp.product("MAT")
    created = await erp.api.post(f"{BASE}/prices", json=_price())

    changed = await erp.api.post(f"{BASE}/prices", json=_price(amount="99.50"))
    listed = (await erp.api.get(f"{BASE}/prices", params={"sku": "MAT"})).json()

    assert changed.status_code == 200
    assert changed.json()["erp_id"] == created.json()["erp_id"]
    assert [Decimal(p["unit_price"]["amount"]) for p in listed["items"]] == [Decimal("99.50")]


async def test_the_erp_prices_orders_with_what_the_api_set(erp: ErpWorld) -> None:
    """An order item without a manual price is priced by the condition record written here."""
    await erp.product("MAT")
    customer = await erp.customer()
    await erp.api.post(f"{BASE}/prices", json=_price(amount="42.00", valid_from="2020-01-01"))

    order = await erp.s4.create(
        "API_SALES_ORDER_SRV",
        "A_SalesOrder",
        {
            "SalesOrderType": "OR",
            "SalesOrganization": "1010",
            "DistributionChannel": "10",
            "OrganizationDivision": "00",
            "SoldToParty": customer,
            "TransactionCurrency": "EUR",
            "to_Item": [{"Material": "MAT", "RequestedQuantity": "3"}],
        },
    )

    assert order.properties["TotalNetAmount"] == "126.00"


async def test_update_needs_the_current_etag(erp: ErpWorld) -> None:
    """PUT with the ETag read changes the amount; the old ETag then gets 412 problem+json."""
    await erp.product("MAT")
    created = await erp.api.post(f"{BASE}/prices", json=_price())
    url = f"{BASE}/prices/{created.json()['erp_id']}"
    etag = created.headers["ETag"]

    updated = await erp.api.put(url, json=_price(amount="130.00"), headers={"If-Match": etag})
    stale = await erp.api.put(url, json=_price(amount="1.00"), headers={"If-Match": etag})

    assert updated.status_code == 200, updated.text
    assert Decimal(updated.json()["unit_price"]["amount"]) == 130
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in stale.json()["errors"]] == ["If-Match"]
    assert Decimal((await erp.api.get(url)).json()["unit_price"]["amount"]) == 130


async def test_update_cannot_move_a_price_to_another_key(erp: ErpWorld) -> None:
    """PUT that changes the product of a price is a 422 naming product_sku."""
    await erp.product("MAT")
    await erp.product("MAT-2")
    created = await erp.api.post(f"{BASE}/prices", json=_price())

    response = await erp.api.put(
        f"{BASE}/prices/{created.json()['erp_id']}",
        json=_price(sku="MAT-2"),
        headers={"If-Match": created.headers["ETag"]},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["product_sku"]


async def test_list_filters_by_product_and_day_and_pages(erp: ErpWorld) -> None:
    """Prices filter by SKU and validity day; three read two by two come each once, in order."""
    for sku in ("MAT", "MAT-1", "MAT-2"):
        await erp.product(sku)
        await erp.api.post(f"{BASE}/prices", json=_price(sku=sku, valid_to="2027-06-30"))

    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await erp.api.get(f"{BASE}/prices", params=params)).json()
        ids += [p["erp_id"] for p in page["items"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    only_one = (await erp.api.get(f"{BASE}/prices", params={"sku": "MAT-1"})).json()
    in_july = (await erp.api.get(f"{BASE}/prices", params={"valid_on": "2027-07-01"})).json()
    in_may = (await erp.api.get(f"{BASE}/prices", params={"valid_on": "2027-05-01"})).json()

    assert ids == ["0000000001", "0000000002", "0000000003"]
    assert [p["product_sku"] for p in only_one["items"]] == ["MAT-1"]
    assert in_july["items"] == []
    assert len(in_may["items"]) == 3


async def test_errors_are_problems_naming_the_field(erp: ErpWorld) -> None:
    """A price without a start, for an unknown product, or a bad id get clear problems."""
    no_start = await erp.api.post(f"{BASE}/prices", json=_price(valid_from=None))
    unknown = await erp.api.post(f"{BASE}/prices", json=_price(sku="NOPE"))
    negative = await erp.api.post(f"{BASE}/prices", json=_price(amount="-1"))
    missing = await erp.api.get(f"{BASE}/prices/9999")
    bad_id = await erp.api.get(f"{BASE}/prices/abc")

    assert no_start.status_code == 422
    assert [e["field"] for e in no_start.json()["errors"]] == ["valid_from"]
    assert unknown.status_code == 422
    assert "NOPE" in unknown.json()["detail"]
    assert [e["field"] for e in negative.json()["errors"]] == ["unit_price"]
    assert missing.status_code == 404
    assert [e["field"] for e in bad_id.json()["errors"]] == ["price_id"]
