"""erp-products over HTTP against the ERP sandbox: canonical products keyed by SKU."""

from __future__ import annotations

from typing import Any

from tests.contract.system.conftest import PROBLEM, ErpWorld

BASE = "/system/erp-products/v1"


def _product(sku: str, **changes: Any) -> dict[str, Any]:
    return {"sku": sku, "name": f"{sku} account", "unit": "EA", "active": True, **changes}


async def test_upsert_creates_once_and_a_repeat_changes_nothing(erp: ErpWorld) -> None:
    """A first POST creates (201); the same body again answers 200 with the same version."""
    first = await erp.api.post(f"{BASE}/products", json=_product("CUSTODY-1"))
    again = await erp.api.post(f"{BASE}/products", json=_product("CUSTODY-1"))

    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert (
        first.json()
        == again.json()
        == {
            "canonical_id": None,
            "crm_id": None,
            "erp_id": "CUSTODY-1",
            "sku": "CUSTODY-1",
            "name": "CUSTODY-1 account",
            "unit": "EA",
            "active": True,
        }
    )
    assert first.headers["ETag"] == again.headers["ETag"]
    assert first.headers["Location"] == f"{BASE}/products/CUSTODY-1"


async def test_upsert_of_a_changed_body_updates_the_product(erp: ErpWorld) -> None:
    """POST with a new name and activity for an existing SKU changes it and its ETag."""
    created = await erp.api.post(f"{BASE}/products", json=_product("CUSTODY-2"))
    changed = await erp.api.post(
        f"{BASE}/products", json=_product("CUSTODY-2", name="Custody, premium", active=False)
    )
    read = await erp.api.get(f"{BASE}/products/CUSTODY-2")

    assert changed.status_code == 200
    assert read.json()["name"] == "Custody, premium"
    assert read.json()["active"] is False
    assert read.headers["ETag"] != created.headers["ETag"]


async def test_get_answers_the_product_with_its_etag(erp: ErpWorld) -> None:
    """A product made in the ERP reads back in canonical form with a weak ETag."""
    await erp.product("MAT")

    response = await erp.api.get(f"{BASE}/products/MAT")

    assert response.status_code == 200
    assert response.json()["name"] == "MAT widget"
    assert response.headers["ETag"].startswith('W/"')


async def test_update_needs_the_current_etag(erp: ErpWorld) -> None:
    """PUT with the ETag read succeeds; the old ETag afterwards gets 412 problem+json."""
    created = await erp.api.post(f"{BASE}/products", json=_product("CUSTODY-3"))
    etag = created.headers["ETag"]

    updated = await erp.api.put(
        f"{BASE}/products/CUSTODY-3",
        json=_product("CUSTODY-3", name="Custody, renamed"),
        headers={"If-Match": etag},
    )
    stale = await erp.api.put(
        f"{BASE}/products/CUSTODY-3",
        json=_product("CUSTODY-3", name="Lost update"),
        headers={"If-Match": etag},
    )

    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Custody, renamed"
    assert updated.headers["ETag"] != etag
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in stale.json()["errors"]] == ["If-Match"]
    current = await erp.api.get(f"{BASE}/products/CUSTODY-3")
    assert current.json()["name"] == "Custody, renamed"


async def test_update_without_if_match_is_refused(erp: ErpWorld) -> None:
    """PUT without If-Match is a 422 naming the header, and changes nothing."""
    await erp.api.post(f"{BASE}/products", json=_product("CUSTODY-4"))

    response = await erp.api.put(
        f"{BASE}/products/CUSTODY-4", json=_product("CUSTODY-4", name="No precondition")
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["If-Match"]
    assert (await erp.api.get(f"{BASE}/products/CUSTODY-4")).json()["name"] == "CUSTODY-4 account"


async def test_update_of_another_sku_than_the_path_is_refused(erp: ErpWorld) -> None:
    """A body whose SKU differs from the path's is a 422 naming sku."""
    created = await erp.api.post(f"{BASE}/products", json=_product("CUSTODY-5"))

    response = await erp.api.put(
        f"{BASE}/products/CUSTODY-5",
        json=_product("OTHER"),
        headers={"If-Match": created.headers["ETag"]},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["sku"]


async def test_list_pages_with_a_cursor_and_filters(erp: ErpWorld) -> None:
    """Five products read two by two come in SKU order, each once; active=false finds one."""
    for n in range(5):
        await erp.api.post(f"{BASE}/products", json=_product(f"P-{n}", active=n != 3))
    skus: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await erp.api.get(f"{BASE}/products", params=params)).json()
        pages += 1
        skus += [item["sku"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    inactive = (await erp.api.get(f"{BASE}/products", params={"active": "false"})).json()

    assert skus == ["P-0", "P-1", "P-2", "P-3", "P-4"]
    assert pages == 3
    assert [item["sku"] for item in inactive["items"]] == ["P-3"]


async def test_errors_are_problems_naming_the_field(erp: ErpWorld) -> None:
    """An unknown SKU is 404; a bad body, limit or cursor is 422 naming the field."""
    missing = await erp.api.get(f"{BASE}/products/NOPE")
    bad_body = await erp.api.post(f"{BASE}/products", json={"sku": "X", "name": ""})
    bad_limit = await erp.api.get(f"{BASE}/products", params={"limit": "0"})
    bad_cursor = await erp.api.get(f"{BASE}/products", params={"cursor": "garbage"})

    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in bad_body.json()["errors"]] == ["name"]
    assert [e["field"] for e in bad_limit.json()["errors"]] == ["limit"]
    assert [e["field"] for e in bad_cursor.json()["errors"]] == ["cursor"]


async def test_changed_since_reads_only_what_changed_after(erp: ErpWorld) -> None:
    """A delta read after a first product's creation finds only the later-changed ones."""
    await erp.api.post(f"{BASE}/products", json=_product("OLD"))
    await erp.api.post(f"{BASE}/products", json=_product("CHANGED"))
    old = await erp.s4.get("API_PRODUCT_SRV", "A_Product", "OLD")
    watermark = old.properties["LastChangeDateTime"]
    await erp.api.post(f"{BASE}/products", json=_product("CHANGED", name="Changed later"))
    await erp.api.post(f"{BASE}/products", json=_product("NEW"))

    delta = await erp.api.get(f"{BASE}/products", params={"changed_since": watermark.isoformat()})
    naive = await erp.api.get(f"{BASE}/products", params={"changed_since": "2026-01-01T00:00:00"})

    assert [p["sku"] for p in delta.json()["items"]] == ["CHANGED", "NEW"]
    assert naive.status_code == 422
    assert [e["field"] for e in naive.json()["errors"]] == ["changed_since"]
