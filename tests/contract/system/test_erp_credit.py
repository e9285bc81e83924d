"""erp-credit over HTTP against the ERP sandbox: credit limits and exposure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.contract.system.conftest import PROBLEM, ErpWorld

BASE = "/system/erp-credit/v1"


def _limit(customer: str, amount: str = "1000.00", **changes: Any) -> dict[str, Any]:
    return {
        "customer_erp_id": customer,
        "credit_segment": "1000",
        "limit": {"amount": amount, "currency": "EUR"},
        **changes,
    }


async def test_upsert_opens_the_account_once(erp: ErpWorld) -> None:
    """A first POST opens credit data and account (201); the same body again is 200, same ETag."""
    customer = await erp.customer()

    first = await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer))
    again = await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer))

    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert first.json() == again.json()
    body = first.json()
    assert body["customer_erp_id"] == customer
    assert body["credit_segment"] == "1000"
    assert Decimal(body["limit"]["amount"]) == Decimal("1000.00")
    assert body["blocked"] is False
    assert first.headers["ETag"] == again.headers["ETag"]
    read = await erp.api.get(first.headers["Location"])
    assert read.json() == body


async def test_upsert_of_a_new_limit_sets_it(erp: ErpWorld) -> None:
    """POST with a higher limit for an open account changes that account (200)."""
    customer = await erp.customer()
    await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer))

    raised = await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer, "5000.00"))

    assert raised.status_code == 200
    assert Decimal(raised.json()["limit"]["amount"]) == Decimal("5000.00")


async def test_update_needs_the_current_etag(erp: ErpWorld) -> None:
    """PUT with the ETag read blocks the account; the old ETag then gets 412 problem+json."""
    customer = await erp.customer()
    created = await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer))
    url = f"{BASE}/credit-limits/{customer}/1000"
    etag = created.headers["ETag"]

    blocked = await erp.api.put(
        url, json=_limit(customer, blocked=True), headers={"If-Match": etag}
    )
    stale = await erp.api.put(url, json=_limit(customer, "9.00"), headers={"If-Match": etag})

    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["blocked"] is True
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in stale.json()["errors"]] == ["If-Match"]
    assert Decimal((await erp.api.get(url)).json()["limit"]["amount"]) == Decimal("1000.00")


async def test_exposure_counts_open_receivables(erp: ErpWorld) -> None:
    """After an invoice of 240 the exposure is 240 of the limit, until it is paid."""
    await erp.product("MAT")
    customer = await erp.customer()
    await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer, "1000.00"))
    await erp.invoice(customer, price="120.00")

    exposure = (await erp.api.get(f"{BASE}/credit-exposures/{customer}/1000")).json()

    assert Decimal(exposure["exposure"]["amount"]) == Decimal("240.00")
    assert Decimal(exposure["limit"]["amount"]) == Decimal("1000.00")
    assert exposure["exposure"]["currency"] == "EUR"
    assert exposure["blocked"] is False


async def test_list_filters_and_pages(erp: ErpWorld) -> None:
    """Three accounts read two by two come each once; blocked=true finds the blocked one."""
    customers = [await erp.customer(f"001A00000{n}") for n in range(3)]
    for n, customer in enumerate(customers):
        await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer, blocked=n == 1))

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await erp.api.get(f"{BASE}/credit-limits", params=params)).json()
        seen += [c["customer_erp_id"] for c in page["items"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    blocked = (await erp.api.get(f"{BASE}/credit-limits", params={"blocked": "true"})).json()
    one = (
        await erp.api.get(f"{BASE}/credit-limits", params={"customer_erp_id": customers[2]})
    ).json()

    assert seen == customers
    assert [c["customer_erp_id"] for c in blocked["items"]] == [customers[1]]
    assert [c["customer_erp_id"] for c in one["items"]] == [customers[2]]


async def test_errors_are_problems_naming_the_field(erp: ErpWorld) -> None:
    """Unknown accounts are 404; a negative limit or a path mismatch is 422 naming the field."""
    customer = await erp.customer()
    created = await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer))

    missing = await erp.api.get(f"{BASE}/credit-limits/{customer}/2000")
    no_exposure = await erp.api.get(f"{BASE}/credit-exposures/{customer}/2000")
    negative = await erp.api.post(f"{BASE}/credit-limits", json=_limit(customer, "-1"))
    mismatch = await erp.api.put(
        f"{BASE}/credit-limits/{customer}/1000",
        json=_limit(customer, credit_segment="2000"),
        headers={"If-Match": created.headers["ETag"]},
    )
    unknown_partner = await erp.api.post(f"{BASE}/credit-limits", json=_limit("9999999"))

    assert missing.status_code == no_exposure.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in negative.json()["errors"]] == ["limit"]
    assert [e["field"] for e in mismatch.json()["errors"]] == ["credit_segment"]
    assert unknown_partner.status_code == 422
    assert "9999999" in unknown_partner.json()["detail"]
