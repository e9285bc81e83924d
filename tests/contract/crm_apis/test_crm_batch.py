"""Batch upserts of the CRM System APIs over HTTP against the CRM sandbox.

A batch is written through sObject Collections (200 records a call), answers an outcome per
record in order, upserts by the record's key so a repeat writes nothing new, refuses invalid
input whole before writing, and reports a record the CRM refuses without failing the others.
"""

from __future__ import annotations

from typing import Any

import httpx

from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.crm_products.client import CrmProductsClient
from ledgerbridge.canonical import Party, Product

ACCOUNTS = "/system/crm-accounts/v1/accounts"
PRODUCTS = "/system/crm-products/v1/products"
PROBLEM = "application/problem+json"


def _party(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": f"Meridian Capital {n}",
        "account_number": f"CUST-{n}",
        "erp_id": f"{1000000 + n}",
        "billing_address": {
            "street": "Taunusanlage 12",
            "city": "Frankfurt",
            "postal_code": "60325",
            "country": "DE",
        },
        "currency": "EUR",
        **changes,
    }


def _product(n: int, **changes: Any) -> dict[str, Any]:
    return {"sku": f"MAT-{n:04d}", "name": f"Custody plan {n}", "unit": "EA", "active": True} | (
        changes
    )


async def test_a_batch_spanning_collections_calls_is_written_in_order(
    system: httpx.AsyncClient,
) -> None:
    """250 accounts (two collections calls) are created, each outcome at its index with an id."""
    response = await system.post(
        f"{ACCOUNTS}/batch", json={"records": [_party(n) for n in range(250)]}
    )
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert (body["written"], body["refused"]) == (250, 0)
    assert [r["index"] for r in body["results"]] == list(range(250))
    assert all(r["created"] is True and r["id"] for r in body["results"])
    last = await system.get(f"{ACCOUNTS}/{body['results'][249]['id']}")
    assert last.json()["name"] == "Meridian Capital 249"
    assert last.json()["erp_id"] == "1000249"


async def test_a_repeated_batch_updates_the_same_records(system: httpx.AsyncClient) -> None:
    """Sent again with new names, a batch updates the records it created and adds none."""
    client = CrmProductsClient(system)
    first = await client.upsert_products([Product.model_validate(_product(n)) for n in range(3)])
    again = await client.upsert_products(
        [Product.model_validate(_product(n, name=f"Custody plan {n}, revised")) for n in range(3)]
    )
    assert [r.id for r in again.results] == [r.id for r in first.results]
    assert [r.created for r in again.results] == [False, False, False]
    page = (await system.get(PRODUCTS, params={"sku": "MAT-0001"})).json()
    assert [item["name"] for item in page["items"]] == ["Custody plan 1, revised"]


async def test_invalid_records_fail_the_whole_batch_before_any_write(
    system: httpx.AsyncClient,
) -> None:
    """A malformed record is named by index and field, and its valid neighbour is not written."""
    records = [_party(0), _party(1, currency="EURO")]
    response = await system.post(f"{ACCOUNTS}/batch", json={"records": records})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["records.1.currency"]
    found = (await system.get(ACCOUNTS, params={"erp_customer_id": "1000000"})).json()
    assert found["items"] == []


async def test_keys_missing_or_repeated_are_named(system: httpx.AsyncClient) -> None:
    """Records without the key, or repeating another's, are named by index and field."""
    records = [_party(0), _party(1, erp_id=None), _party(0)]
    response = await system.post(f"{ACCOUNTS}/batch", json={"records": records})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "records.1.erp_id",
        "records.2.erp_id",
    }


async def test_a_record_the_crm_refuses_is_reported_and_the_others_written(
    system: httpx.AsyncClient,
) -> None:
    """An account number too long for the CRM refuses that record only, naming its field."""
    client = CrmAccountsClient(system)
    parties = [
        Party.model_validate(_party(0)),
        Party.model_validate(_party(1, account_number="X" * 60)),
        Party.model_validate(_party(2)),
    ]
    result = await client.upsert_accounts(parties)
    assert (result.written, result.refused) == (2, 1)
    refused = result.results[1]
    assert refused.id is None
    assert refused.problem is not None
    assert [e.field for e in refused.problem.errors] == ["records.1.AccountNumber"]
    assert result.results[2].id is not None


async def test_a_batch_is_bounded(system: httpx.AsyncClient) -> None:
    """More than 2000 records, or none, is refused naming ``records``."""
    too_many = {"records": [_product(n) for n in range(2001)]}
    for body in (too_many, {"records": []}):
        response = await system.post(f"{PRODUCTS}/batch", json=body)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["records"]
