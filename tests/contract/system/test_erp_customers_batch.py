"""Batches of customers through the erp-customers System API, against the ERP sandbox.

On S/4HANA a batch is looked up and created in OData $batch requests; it answers an
outcome per party in order, creates no second partner when sent again, refuses invalid
input whole before writing, and reports a party S/4 refuses without failing the others.
"""

from __future__ import annotations

from typing import Any

from tests.contract.system.conftest import PROBLEM, ErpWorld

from ledgerbridge.apis.system.erp_customers.client import ErpCustomersClient
from ledgerbridge.canonical import Party

BATCH = "/system/erp-customers/v1/customers/batch"


def _party(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "crm_id": f"001A{n:014d}",
        "name": f"Meridian Capital {n}",
        "billing_address": {
            "street": "Taunusanlage 12",
            "city": "Frankfurt",
            "postal_code": "60325",
            "country": "DE",
        },
        "currency": "EUR",
        **changes,
    }


async def _partners(erp: ErpWorld) -> int:
    return await erp.s4.count("API_BUSINESS_PARTNER", "A_BusinessPartner")


async def test_a_batch_creates_each_customer_once(erp: ErpWorld) -> None:
    """150 parties (two $batch rounds) become customers; sent again, none is created twice."""
    before = await _partners(erp)
    records = [_party(n) for n in range(150)]
    first = await erp.api.post(BATCH, json={"records": records})
    assert first.status_code == 200, first.text[:500]
    body = first.json()
    assert (body["written"], body["refused"]) == (150, 0)
    assert [r["index"] for r in body["results"]] == list(range(150))
    assert all(r["created"] is True and r["id"] for r in body["results"])
    assert await _partners(erp) == before + 150
    customer = await erp.api.get(f"/system/erp-customers/v1/customers/{body['results'][7]['id']}")
    assert customer.json()["crm_id"] == "001A00000000000007"

    again = (await erp.api.post(BATCH, json={"records": records})).json()
    assert [r["id"] for r in again["results"]] == [r["id"] for r in body["results"]]
    assert {r["created"] for r in again["results"]} == {False}
    assert await _partners(erp) == before + 150


async def test_a_batch_mixes_existing_and_new_customers(erp: ErpWorld) -> None:
    """A party whose customer exists is found (created false); the others are created."""
    client = ErpCustomersClient(erp.api)
    parties = [Party.model_validate(_party(n)) for n in range(3)]
    existing = await client.ensure_customer(parties[1])
    result = await client.ensure_customers(parties)
    assert [r.created for r in result.results] == [True, False, True]
    assert result.results[1].id == existing.erp_id


async def test_keys_missing_or_repeated_fail_the_batch_before_any_write(erp: ErpWorld) -> None:
    """A party without a crm_id, or repeating another's, is named by index; nothing is written."""
    before = await _partners(erp)
    records = [_party(0), _party(1, crm_id=None), _party(0)]
    response = await erp.api.post(BATCH, json={"records": records})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert {e["field"] for e in response.json()["errors"]} == {
        "records.1.crm_id",
        "records.2.crm_id",
    }
    assert await _partners(erp) == before


async def test_a_party_the_erp_refuses_is_reported_and_the_others_written(
    erp: ErpWorld,
) -> None:
    """A postal code too long for S/4 refuses that party only, as a problem naming its index."""
    address = {**_party(1)["billing_address"], "postal_code": "6" * 20}
    records = [_party(0), _party(1, billing_address=address), _party(2)]
    body = (await erp.api.post(BATCH, json={"records": records})).json()
    assert (body["written"], body["refused"]) == (2, 1)
    problem = body["results"][1]["problem"]
    assert problem["errors"][0]["field"].startswith("records.1")
    assert body["results"][2]["id"]
