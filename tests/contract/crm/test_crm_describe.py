"""Describe, limits and the objects beyond orders: contacts, opportunities, price books, cases."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.sandboxes.crm import wire

from .conftest import DATA

REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "contracts" / "salesforce" / "describe"
OBJECTS = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "Order": "801",
    "OrderItem": "802",
    "Case": "500",
}


async def _create(http: httpx.AsyncClient, sobject: str, fields: dict[str, Any]) -> str:
    response = await http.post(f"{DATA}/sobjects/{sobject}/", json=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _get(http: httpx.AsyncClient, sobject: str, record_id: str) -> dict[str, Any]:
    body: dict[str, Any] = wire.loads(
        (await http.get(f"{DATA}/sobjects/{sobject}/{record_id}")).content
    )
    return body


async def test_global_describe_lists_every_object(http: httpx.AsyncClient) -> None:
    """GET /sobjects lists each object with its key prefix and URLs."""
    body = (await http.get(f"{DATA}/sobjects/")).json()
    assert body["encoding"] == "UTF-8"
    assert body["maxBatchSize"] == 200
    listed = {s["name"]: s for s in body["sobjects"]}
    assert {name: s["keyPrefix"] for name, s in listed.items()} == OBJECTS
    assert listed["Order"]["urls"]["describe"] == f"{DATA}/sobjects/Order/describe"


async def test_object_describe_synthesises_field_attributes(http: httpx.AsyncClient) -> None:
    """Field describes say what may be written, what is computed, external or a reference."""
    body = (await http.get(f"{DATA}/sobjects/Order/describe")).json()
    fields = {f["name"]: f for f in body["fields"]}
    assert body["keyPrefix"] == "801"
    assert (fields["TotalAmount"]["createable"], fields["TotalAmount"]["updateable"]) == (
        False,
        False,
    )
    contact = (await http.get(f"{DATA}/sobjects/Contact/describe")).json()
    assert {f["name"]: f for f in contact["fields"]}["Name"]["calculated"] is True
    assert fields["OrderNumber"]["autoNumber"] is True
    assert fields["OrderNumber"]["nameField"] is True
    assert fields["External_Id__c"]["externalId"] is True
    assert fields["External_Id__c"]["custom"] is True
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["AccountId"]["nillable"] is False
    assert fields["Status"]["restrictedPicklist"] is True
    assert [p["value"] for p in fields["Status"]["picklistValues"]] == [
        "Draft",
        "Activated",
        "Cancelled",
    ]
    assert fields["TotalAmount"]["soapType"] == "xsd:double"
    children = {(c["childSObject"], c["field"]): c for c in body["childRelationships"]}
    assert children[("OrderItem", "OrderId")]["relationshipName"] == "OrderItems"
    assert children[("OrderItem", "OrderId")]["cascadeDelete"] is True


async def test_basic_info_shows_recent_items(http: httpx.AsyncClient) -> None:
    """GET /sobjects/Account gives the object summary and recent records."""
    record_id = await _create(http, "Account", {"Name": "Acme"})
    body = (await http.get(f"{DATA}/sobjects/Account")).json()
    assert body["objectDescribe"]["name"] == "Account"
    assert body["recentItems"][0]["Id"] == record_id
    assert body["recentItems"][0]["Name"] == "Acme"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the shared Salesforce contracts are absent")
@pytest.mark.parametrize(
    "sobject", sorted(p.stem for p in REFERENCE.glob("*.json")) if REFERENCE.is_dir() else []
)
async def test_standard_fields_match_a_real_org(http: httpx.AsyncClient, sobject: str) -> None:
    """Every standard field the sandbox declares exists in a real org's describe, same type."""
    if sobject == "typeNames":
        names = {t["name"] for t in json.loads((REFERENCE / "typeNames.json").read_text())}
        assert set(OBJECTS) <= names
        return
    real = {f["name"]: f for f in json.loads((REFERENCE / f"{sobject}.json").read_text())["fields"]}
    ours = (await http.get(f"{DATA}/sobjects/{sobject}/describe")).json()["fields"]
    for field in ours:
        if field["custom"] or field["name"] == "CurrencyIsoCode":
            continue  # the sandbox org's own custom fields, and multi-currency
        assert field["name"] in real, field["name"]
        assert field["type"] == real[field["name"]]["type"], field["name"]
        assert (
            field["referenceTo"] == [r for r in real[field["name"]]["referenceTo"] if r in OBJECTS]
            or field["name"] == "OwnerId"
        )


async def test_limits_report_remaining_requests(http: httpx.AsyncClient) -> None:
    """/limits counts down DailyApiRequests as calls are made."""
    first = (await http.get(f"{DATA}/limits/")).json()["DailyApiRequests"]
    second = (await http.get(f"{DATA}/limits/")).json()["DailyApiRequests"]
    assert first["Max"] == 15000
    assert second["Remaining"] == first["Remaining"] - 1


async def test_contact_name_is_composed(http: httpx.AsyncClient) -> None:
    """Contact.Name is FirstName LastName and cannot be written."""
    account = await _create(http, "Account", {"Name": "Acme"})
    contact = await _create(
        http, "Contact", {"AccountId": account, "FirstName": "Ada", "LastName": "Lovelace"}
    )
    assert (await _get(http, "Contact", contact))["Name"] == "Ada Lovelace"
    refused = await http.post(f"{DATA}/sobjects/Contact/", json={"LastName": "X", "Name": "Y"})
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    rows = (
        await http.get(f"{DATA}/query/", params={"q": "SELECT Name, Account.Name FROM Contact"})
    ).json()["records"]
    assert rows[0]["Account"]["Name"] == "Acme"


async def test_opportunity_stage_drives_closed_won_and_probability(
    http: httpx.AsyncClient,
) -> None:
    """StageName sets IsClosed, IsWon, the default Probability and ExpectedRevenue."""
    opportunity = await _create(
        http,
        "Opportunity",
        {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2025-01-31", "Amount": 1000},
    )
    open_deal = await _get(http, "Opportunity", opportunity)
    await http.patch(f"{DATA}/sobjects/Opportunity/{opportunity}", json={"StageName": "Closed Won"})
    won = await _get(http, "Opportunity", opportunity)
    assert (open_deal["IsClosed"], open_deal["Probability"]) == (False, 10)
    assert open_deal["ExpectedRevenue"] == Decimal("100.00")
    assert (won["IsClosed"], won["IsWon"], won["Probability"]) == (True, True, 100)


async def test_opportunity_stage_is_a_restricted_picklist(http: httpx.AsyncClient) -> None:
    """An unknown stage is refused."""
    response = await http.post(
        f"{DATA}/sobjects/Opportunity/",
        json={"Name": "Deal", "StageName": "Dreaming", "CloseDate": "2025-01-31"},
    )
    assert response.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


async def test_cases_are_numbered_and_close(http: httpx.AsyncClient) -> None:
    """Cases get CaseNumber 00001000 onwards, Status New and IsClosed from the status."""
    first = await _create(http, "Case", {"Subject": "Invoice wrong"})
    second = await _create(http, "Case", {"Subject": "Late", "Status": "Closed"})
    one, two = await _get(http, "Case", first), await _get(http, "Case", second)
    assert (one["CaseNumber"], one["Status"], one["Priority"], one["IsClosed"]) == (
        "00001000",
        "New",
        "Medium",
        False,
    )
    assert (two["CaseNumber"], two["IsClosed"]) == ("00001001", True)


async def test_price_books_need_a_standard_price_first(http: httpx.AsyncClient) -> None:
    """The org has a standard price book; custom prices need a standard price first."""
    [standard] = (
        await http.get(
            f"{DATA}/query/", params={"q": "SELECT Id FROM Pricebook2 WHERE IsStandard = true"}
        )
    ).json()["records"]
    product = await _create(http, "Product2", {"Name": "Widget", "ProductCode": "W-1"})
    custom = await _create(http, "Pricebook2", {"Name": "Retail", "IsActive": True})
    entry = {"Product2Id": product, "UnitPrice": "12.50", "IsActive": True}
    early = await http.post(
        f"{DATA}/sobjects/PricebookEntry/", json={**entry, "Pricebook2Id": custom}
    )
    assert early.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    await _create(http, "PricebookEntry", {**entry, "Pricebook2Id": standard["Id"]})
    custom_entry = await _create(http, "PricebookEntry", {**entry, "Pricebook2Id": custom})
    body = await _get(http, "PricebookEntry", custom_entry)
    assert (body["Name"], body["ProductCode"], body["UnitPrice"]) == (
        "Widget",
        "W-1",
        Decimal("12.50"),
    )
    refused = await http.delete(f"{DATA}/sobjects/Pricebook2/{standard['Id']}")
    assert refused.json()[0]["errorCode"] == "DELETE_FAILED"


async def test_order_items_take_the_product_of_their_price_book_entry(
    http: httpx.AsyncClient,
) -> None:
    """An order item created from a price book entry gets the entry's product."""
    [standard] = (
        await http.get(
            f"{DATA}/query/", params={"q": "SELECT Id FROM Pricebook2 WHERE IsStandard = true"}
        )
    ).json()["records"]
    product = await _create(http, "Product2", {"Name": "Widget"})
    entry = await _create(
        http,
        "PricebookEntry",
        {"Pricebook2Id": standard["Id"], "Product2Id": product, "UnitPrice": 5},
    )
    account = await _create(http, "Account", {"Name": "Acme"})
    order = await _create(
        http,
        "Order",
        {"AccountId": account, "EffectiveDate": "2024-05-01", "Pricebook2Id": standard["Id"]},
    )
    item = await _create(
        http,
        "OrderItem",
        {"OrderId": order, "PricebookEntryId": entry, "Quantity": 2, "UnitPrice": 5},
    )
    assert (await _get(http, "OrderItem", item))["Product2Id"] == product
