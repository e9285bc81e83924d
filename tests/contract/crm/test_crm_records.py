"""sObject create, read, update, delete and upsert on the CRM sandbox, over plain HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.sandboxes.crm import create_app, wire

from .conftest import DATA


async def _create(http: httpx.AsyncClient, sobject: str, fields: dict[str, Any]) -> str:
    response = await http.post(f"{DATA}/sobjects/{sobject}/", json=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _order(http: httpx.AsyncClient) -> tuple[str, str, str]:
    account = await _create(http, "Account", {"Name": "Acme"})
    product = await _create(http, "Product2", {"Name": "Widget", "ProductCode": "W-1"})
    order = await _create(
        http, "Order", {"AccountId": account, "EffectiveDate": "2024-05-01", "Status": "Draft"}
    )
    return account, product, order


@pytest.mark.parametrize(
    ("sobject", "fields", "prefix"),
    [
        ("Account", {"Name": "Acme"}, "001"),
        ("Product2", {"Name": "Widget"}, "01t"),
        ("Pricebook2", {"Name": "Standard"}, "01s"),
    ],
)
async def test_create_returns_an_18_character_id_with_the_key_prefix(
    http: httpx.AsyncClient, sobject: str, fields: dict[str, Any], prefix: str
) -> None:
    """Create answers 201 {id, success, errors} with a Salesforce-style id."""
    response = await http.post(f"{DATA}/sobjects/{sobject}/", json=fields)
    body = response.json()
    assert response.status_code == 201
    assert body["success"] is True
    assert body["errors"] == []
    assert len(body["id"]) == 18
    assert body["id"].startswith(prefix)


async def test_get_returns_attributes_and_every_field(http: httpx.AsyncClient) -> None:
    """A record carries attributes {type, url}, its id, defaults and system fields."""
    record_id = await _create(http, "Account", {"Name": "Acme", "BillingCity": "Lyon"})
    body = (await http.get(f"{DATA}/sobjects/Account/{record_id}")).json()
    assert body["attributes"] == {
        "type": "Account",
        "url": f"{DATA}/sobjects/Account/{record_id}",
    }
    assert body["Id"] == record_id
    assert body["BillingCity"] == "Lyon"
    assert body["Phone"] is None
    assert body["CurrencyIsoCode"] == "USD"
    assert body["CreatedDate"].endswith("+0000")
    assert body["IsDeleted"] is False


async def test_get_with_fields_returns_only_those(http: httpx.AsyncClient) -> None:
    """?fields= limits the record to the listed fields plus its id."""
    record_id = await _create(http, "Account", {"Name": "Acme", "Phone": "+33 1"})
    body = (
        await http.get(f"{DATA}/sobjects/Account/{record_id}", params={"fields": "Phone"})
    ).json()
    assert set(body) == {"attributes", "Id", "Phone"}


async def test_a_15_character_id_finds_the_record(http: httpx.AsyncClient) -> None:
    """The case-sensitive 15-character form of an id addresses the same record."""
    record_id = await _create(http, "Account", {"Name": "Acme"})
    response = await http.get(f"{DATA}/sobjects/Account/{record_id[:15]}")
    assert response.json()["Id"] == record_id


async def test_update_changes_fields_and_answers_204(http: httpx.AsyncClient) -> None:
    """PATCH changes only the given fields."""
    record_id = await _create(http, "Account", {"Name": "Acme", "Phone": "1"})
    response = await http.patch(f"{DATA}/sobjects/Account/{record_id}", json={"Phone": "2"})
    body = (await http.get(f"{DATA}/sobjects/Account/{record_id}")).json()
    assert response.status_code == 204
    assert (body["Name"], body["Phone"]) == ("Acme", "2")


async def test_delete_removes_the_record(http: httpx.AsyncClient) -> None:
    """DELETE answers 204 and the record is gone."""
    record_id = await _create(http, "Account", {"Name": "Acme"})
    response = await http.delete(f"{DATA}/sobjects/Account/{record_id}")
    assert response.status_code == 204
    assert (await http.get(f"{DATA}/sobjects/Account/{record_id}")).status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_unknown_id_is_not_found(http: httpx.AsyncClient, method: str) -> None:
    """An id that names no record gets 404 NOT_FOUND."""
    kwargs: dict[str, Any] = {"json": {"Name": "x"}} if method == "PATCH" else {}
    response = await http.request(method, f"{DATA}/sobjects/Account/001000000000000AAA", **kwargs)
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


async def test_unknown_object_is_not_found(http: httpx.AsyncClient) -> None:
    """An sObject the org lacks gets 404."""
    response = await http.post(f"{DATA}/sobjects/Spaceship/", json={"Name": "x"})
    assert response.status_code == 404


async def test_unknown_field_is_invalid_field_naming_it(http: httpx.AsyncClient) -> None:
    """A field the object lacks is refused with INVALID_FIELD naming it."""
    response = await http.post(f"{DATA}/sobjects/Account/", json={"Name": "x", "Colour": "red"})
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == "INVALID_FIELD"
    assert "Colour" in error["message"]
    assert error["fields"] == ["Colour"]


async def test_missing_required_fields_are_listed(http: httpx.AsyncClient) -> None:
    """REQUIRED_FIELD_MISSING lists every missing required field."""
    account = await _create(http, "Account", {"Name": "Acme"})
    response = await http.post(f"{DATA}/sobjects/Order/", json={"AccountId": account})
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert error["fields"] == ["EffectiveDate"]


async def test_clearing_a_required_field_is_refused(http: httpx.AsyncClient) -> None:
    """An update may not set a required field to null."""
    record_id = await _create(http, "Account", {"Name": "Acme"})
    response = await http.patch(f"{DATA}/sobjects/Account/{record_id}", json={"Name": None})
    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


@pytest.mark.parametrize("account_id", ["001000000000000AAA", "01t5g0000000001AAA", "not-an-id"])
async def test_bad_reference_is_invalid_cross_reference_key(
    http: httpx.AsyncClient, account_id: str
) -> None:
    """A reference to a missing record, another object or a non-id is refused."""
    response = await http.post(
        f"{DATA}/sobjects/Order/", json={"AccountId": account_id, "EffectiveDate": "2024-05-01"}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert response.json()[0]["fields"] == ["AccountId"]


async def test_read_only_fields_cannot_be_written(http: httpx.AsyncClient) -> None:
    """Computed fields such as TotalAmount are refused on insert."""
    account = await _create(http, "Account", {"Name": "Acme"})
    response = await http.post(
        f"{DATA}/sobjects/Order/",
        json={"AccountId": account, "EffectiveDate": "2024-05-01", "TotalAmount": 5},
    )
    assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert response.json()[0]["fields"] == ["TotalAmount"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Status": "Shipped"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"EffectiveDate": "01/05/2024"}, "JSON_PARSER_ERROR"),
        ({"Description": ["a"]}, "JSON_PARSER_ERROR"),
        ({"PoNumber": "x" * 81}, "STRING_TOO_LONG"),
    ],
)
async def test_values_are_checked_by_type(
    http: httpx.AsyncClient, fields: dict[str, Any], code: str
) -> None:
    """Restricted picklists, dates, types and lengths are enforced."""
    account = await _create(http, "Account", {"Name": "Acme"})
    response = await http.post(
        f"{DATA}/sobjects/Order/",
        json={"AccountId": account, "EffectiveDate": "2024-05-01", **fields},
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


async def test_orders_get_numbers_and_totals_from_their_items(http: httpx.AsyncClient) -> None:
    """OrderNumber counts from 00000100; TotalPrice and TotalAmount are exact sums."""
    _, product, order = await _order(http)
    second = await _create(
        http, "Order", {"AccountId": (await _order(http))[0], "EffectiveDate": "2024-05-02"}
    )
    for quantity, price in (("3", "0.10"), ("1", "0.20")):
        await http.post(
            f"{DATA}/sobjects/OrderItem/",
            content=f'{{"OrderId":"{order}","Product2Id":"{product}",'
            f'"Quantity":{quantity},"UnitPrice":{price}}}',
            headers={"Content-Type": "application/json"},
        )
    response = await http.get(f"{DATA}/sobjects/Order/{order}")
    body = wire.loads(response.content)
    assert body["OrderNumber"] == "00000100"
    assert (
        wire.loads((await http.get(f"{DATA}/sobjects/Order/{second}")).content)["OrderNumber"]
        == "00000102"
    )
    assert body["TotalAmount"] == Decimal("0.50")
    assert b'"TotalAmount":0.50' in response.content


async def test_an_order_cannot_be_activated_without_items(http: httpx.AsyncClient) -> None:
    """Activating an empty order is refused, as Salesforce does."""
    _, _, order = await _order(http)
    response = await http.patch(f"{DATA}/sobjects/Order/{order}", json={"Status": "Activated"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


async def test_activated_orders_lock_their_items(http: httpx.AsyncClient) -> None:
    """Once activated, an order takes no new items and cannot be deleted."""
    _, product, order = await _order(http)
    item = {"OrderId": order, "Product2Id": product, "Quantity": 1, "UnitPrice": 10}
    await _create(http, "OrderItem", item)
    assert (
        await http.patch(f"{DATA}/sobjects/Order/{order}", json={"Status": "Activated"})
    ).status_code == 204
    refused_item = await http.post(f"{DATA}/sobjects/OrderItem/", json=item)
    refused_delete = await http.delete(f"{DATA}/sobjects/Order/{order}")
    assert refused_item.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert refused_delete.json()[0]["errorCode"] == "DELETE_FAILED"


async def test_deleting_an_order_deletes_its_items(http: httpx.AsyncClient) -> None:
    """Order items cascade with their order."""
    _, product, order = await _order(http)
    item = await _create(
        http, "OrderItem", {"OrderId": order, "Product2Id": product, "Quantity": 1, "UnitPrice": 1}
    )
    await http.delete(f"{DATA}/sobjects/Order/{order}")
    assert (await http.get(f"{DATA}/sobjects/OrderItem/{item}")).status_code == 404


async def test_an_account_with_orders_cannot_be_deleted(http: httpx.AsyncClient) -> None:
    """Deleting a record others still point at fails with DELETE_FAILED."""
    account, _, _ = await _order(http)
    response = await http.delete(f"{DATA}/sobjects/Account/{account}")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "DELETE_FAILED"


async def test_upsert_creates_then_updates(http: httpx.AsyncClient) -> None:
    """Upsert by external id answers 201 created:true, then 204 for the same key."""
    url = f"{DATA}/sobjects/Account/ERP_Customer_Id__c/C-1000"
    created = await http.patch(url, json={"Name": "Acme"})
    updated = await http.patch(url, json={"Name": "Acme SA"})
    fetched = await http.get(url)
    assert created.status_code == 201
    assert created.json()["created"] is True
    assert updated.status_code == 204
    assert fetched.json()["Id"] == created.json()["id"]
    assert fetched.json()["Name"] == "Acme SA"


async def test_upsert_with_several_matches_is_300(http: httpx.AsyncClient) -> None:
    """Two records sharing an external id make upsert answer 300 with their URLs."""
    first = await _create(http, "Account", {"Name": "A", "ERP_Customer_Id__c": "DUP"})
    second = await _create(http, "Account", {"Name": "B", "ERP_Customer_Id__c": "dup"})
    response = await http.patch(
        f"{DATA}/sobjects/Account/ERP_Customer_Id__c/DUP", json={"Name": "C"}
    )
    assert response.status_code == 300
    assert response.json() == [
        f"{DATA}/sobjects/Account/{first}",
        f"{DATA}/sobjects/Account/{second}",
    ]


async def test_upsert_on_a_field_that_is_no_external_id_is_not_found(
    http: httpx.AsyncClient,
) -> None:
    """Only fields marked as external ids serve for upsert."""
    response = await http.patch(f"{DATA}/sobjects/Account/Phone/123", json={"Name": "x"})
    assert response.status_code == 404
    assert "Phone" in response.json()[0]["message"]


async def test_invalid_json_is_refused(http: httpx.AsyncClient) -> None:
    """A body that is not a JSON object gets JSON_PARSER_ERROR."""
    response = await http.post(
        f"{DATA}/sobjects/Account/", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


async def test_records_survive_a_restart_on_a_file(tmp_path: Path) -> None:
    """A sandbox on a SQLite file keeps its records for the next app on that file."""
    database = str(tmp_path / "crm.sqlite3")
    form = {
        "grant_type": "client_credentials",
        "client_id": "ledgerbridge",
        "client_secret": "sandbox-secret",
    }

    @asynccontextmanager
    async def connect(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://crm"
        ) as client:
            token = (await client.post("/services/oauth2/token", data=form)).json()
            client.headers["Authorization"] = f"Bearer {token['access_token']}"
            yield client

    async with connect(create_app(database=database)) as first:
        record_id = await _create(first, "Account", {"Name": "Kept"})
    async with connect(create_app(database=database)) as second:
        body = (await second.get(f"{DATA}/sobjects/Account/{record_id}")).json()
    assert body["Name"] == "Kept"


async def test_system_modstamp_moves_on_every_change(http: httpx.AsyncClient) -> None:
    """Back-to-back updates and roll-ups each move SystemModstamp, so it can serve as an ETag."""
    account, product, order = await _order(http)
    stamps = [(await http.get(f"{DATA}/sobjects/Account/{account}")).json()["SystemModstamp"]]
    for phone in ("1", "2", "3"):
        await http.patch(f"{DATA}/sobjects/Account/{account}", json={"Phone": phone})
        stamps.append(
            (await http.get(f"{DATA}/sobjects/Account/{account}")).json()["SystemModstamp"]
        )
    assert stamps == sorted(set(stamps))
    before = (await http.get(f"{DATA}/sobjects/Order/{order}")).json()["SystemModstamp"]
    await _create(
        http, "OrderItem", {"OrderId": order, "Product2Id": product, "Quantity": 1, "UnitPrice": 1}
    )
    assert (await http.get(f"{DATA}/sobjects/Order/{order}")).json()["SystemModstamp"] > before
