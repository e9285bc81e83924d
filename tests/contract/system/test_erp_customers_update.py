"""erp-customers updates over HTTP against the ERP sandbox: a customer's name and billing
address changed in place, only at the version read (ETag and If-Match)."""

from __future__ import annotations

from typing import Any

from tests.contract.system.conftest import PROBLEM, ErpWorld

BASE = "/system/erp-customers/v1"
ADDRESSES = ("API_BUSINESS_PARTNER", "A_BusinessPartnerAddress")
HAMBURG = {"street": "Ballindamm 1", "city": "Hamburg", "postal_code": "20095", "country": "DE"}
FRANKFURT = {"street": "Taunusanlage 12", "city": "Frankfurt", "postal_code": "60325"}


async def _customer(erp: ErpWorld, crm_id: str) -> str:
    """A customer made through erp-customers, with a full billing address; its number."""
    party = {
        "crm_id": crm_id,
        "name": "Meridian Capital",
        "billing_address": {**FRANKFURT, "country": "DE"},
    }
    created = await erp.api.post(f"{BASE}/customers", json=party)
    assert created.status_code == 201, created.text
    return str(created.json()["erp_id"])


async def _read(erp: ErpWorld, number: str) -> tuple[dict[str, Any], str]:
    response = await erp.api.get(f"{BASE}/customers/{number}")
    assert response.status_code == 200, response.text
    return response.json(), response.headers["ETag"]


async def test_an_update_at_the_version_read_changes_name_and_address(erp: ErpWorld) -> None:
    """PUT with the ETag just read changes the name and address, answers the new version,
    and reads back equal; the CRM and ERP ids stay."""
    number = await _customer(erp, "001A000010")
    customer, etag = await _read(erp, number)

    body = {**customer, "name": "Meridian Capital AG", "billing_address": HAMBURG}
    updated = await erp.api.put(f"{BASE}/customers/{number}", json=body, headers={"If-Match": etag})

    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Meridian Capital AG"
    assert updated.json()["billing_address"] == {**HAMBURG, "region": None}
    assert (updated.json()["crm_id"], updated.json()["erp_id"]) == ("001A000010", number)
    assert updated.headers["ETag"] != etag
    assert await _read(erp, number) == (updated.json(), updated.headers["ETag"])


async def test_a_stale_etag_is_refused_with_412_and_nothing_is_written(erp: ErpWorld) -> None:
    """An address changed in the ERP since the read moves the ETag: the old one gets 412
    problem+json naming If-Match, and the customer keeps what the ERP holds."""
    number = await _customer(erp, "001A000011")
    customer, etag = await _read(erp, number)
    (address,) = await erp.s4.query(*ADDRESSES, filter=f"BusinessPartner eq '{number}'")
    key = {"BusinessPartner": number, "AddressID": address.properties["AddressID"]}
    await erp.s4.update(*ADDRESSES, key, {"CityName": "Kiel"}, etag=None)

    stale = await erp.api.put(
        f"{BASE}/customers/{number}",
        json={**customer, "name": "Meridian Capital AG"},
        headers={"If-Match": etag},
    )

    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert [e["field"] for e in stale.json()["errors"]] == ["If-Match"]
    now, _ = await _read(erp, number)
    assert (now["name"], now["billing_address"]["city"]) == ("Meridian Capital", "Kiel")


async def test_an_update_without_if_match_names_the_header(erp: ErpWorld) -> None:
    """PUT without If-Match is refused (422) naming the header; nothing is written."""
    number = await _customer(erp, "001A000012")
    customer, _ = await _read(erp, number)

    response = await erp.api.put(
        f"{BASE}/customers/{number}", json={**customer, "name": "Meridian Capital AG"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert "if-match" in [e["field"].lower() for e in response.json()["errors"]]
    assert (await _read(erp, number))[0]["name"] == "Meridian Capital"


async def test_an_unknown_customer_is_404(erp: ErpWorld) -> None:
    """PUT to a customer the ERP does not have answers 404 problem+json."""
    response = await erp.api.put(
        f"{BASE}/customers/9999999",
        json={"name": "Nobody", "billing_address": HAMBURG},
        headers={"If-Match": 'W/"anything"'},
    )

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_bad_bodies_are_problems_naming_the_field(erp: ErpWorld) -> None:
    """Another ERP id, another CRM id, no billing address for a customer with one, and an
    empty name are each refused (422) naming the field; nothing is written."""
    number = await _customer(erp, "001A000013")
    customer, etag = await _read(erp, number)
    url = f"{BASE}/customers/{number}"

    cases = {
        "erp_id": {**customer, "erp_id": "1234567"},
        "crm_id": {**customer, "crm_id": "001A999999"},
        "billing_address": {**customer, "billing_address": None},
        "name": {**customer, "name": ""},
    }
    for field, body in cases.items():
        response = await erp.api.put(url, json=body, headers={"If-Match": etag})
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert field in [e["field"] for e in response.json()["errors"]], field
    assert await _read(erp, number) == (customer, etag)
