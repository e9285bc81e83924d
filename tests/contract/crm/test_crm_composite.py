"""Composite requests and sObject Collections, on the sandbox and through the connector."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ledgerbridge.connectors.salesforce import (
    CompositeSubrequest,
    SalesforceClient,
    SaveResult,
)

from .conftest import DATA


async def _composite(
    http: httpx.AsyncClient, subrequests: list[dict[str, Any]], **extra: Any
) -> Any:
    response = await http.post(f"{DATA}/composite", json={"compositeRequest": subrequests, **extra})
    assert response.status_code == 200, response.text
    return response.json()["compositeResponse"]


async def _count(http: httpx.AsyncClient, sobject: str) -> int:
    soql = f"SELECT COUNT() FROM {sobject}"  # noqa: S608 - SOQL, not SQL
    body = (await http.get(f"{DATA}/query/", params={"q": soql})).json()
    return int(body["totalSize"])


async def test_composite_chains_references(http: httpx.AsyncClient) -> None:
    """Later subrequests use @{ref.field} of earlier ones, in URLs and bodies."""
    responses = await _composite(
        http,
        [
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Account",
                "referenceId": "acct",
                "body": {"Name": "Acme"},
            },
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Contact",
                "referenceId": "ada",
                "body": {"LastName": "Lovelace", "AccountId": "@{acct.id}"},
            },
            {
                "method": "GET",
                "url": f"{DATA}/sobjects/Account/@{{acct.id}}?fields=Name",
                "referenceId": "read",
            },
            {"method": "GET", "url": f"{DATA}/query?q=SELECT+Id+FROM+Contact", "referenceId": "q"},
            {
                "method": "PATCH",
                "url": f"{DATA}/sobjects/Contact/@{{q.records[0].Id}}",
                "referenceId": "rename",
                "body": {"FirstName": "Ada"},
            },
        ],
    )
    assert [r["httpStatusCode"] for r in responses] == [201, 201, 200, 200, 204]
    account_id = responses[0]["body"]["id"]
    assert responses[0]["httpHeaders"]["Location"] == f"{DATA}/sobjects/Account/{account_id}"
    assert responses[2]["body"]["Name"] == "Acme"
    contact = (await http.get(f"{DATA}/sobjects/Contact/{responses[1]['body']['id']}")).json()
    assert (contact["AccountId"], contact["Name"]) == (account_id, "Ada Lovelace")


async def test_all_or_none_rolls_back_every_subrequest(http: httpx.AsyncClient) -> None:
    """With allOrNone, one failure undoes the others and marks them PROCESSING_HALTED."""
    responses = await _composite(
        http,
        [
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Account",
                "referenceId": "ok",
                "body": {"Name": "Acme"},
            },
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Account",
                "referenceId": "bad",
                "body": {"Colour": "red"},
            },
        ],
        allOrNone=True,
    )
    assert [r["httpStatusCode"] for r in responses] == [400, 400]
    assert responses[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert responses[1]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert await _count(http, "Account") == 0


async def test_without_all_or_none_failures_stay_local(http: httpx.AsyncClient) -> None:
    """Without allOrNone, successes stay and references to failures are halted."""
    responses = await _composite(
        http,
        [
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Account",
                "referenceId": "ok",
                "body": {"Name": "Acme"},
            },
            {"method": "POST", "url": f"{DATA}/sobjects/Account", "referenceId": "bad", "body": {}},
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Contact",
                "referenceId": "orphan",
                "body": {"LastName": "X", "AccountId": "@{bad.id}"},
            },
        ],
    )
    assert [r["httpStatusCode"] for r in responses] == [201, 400, 400]
    assert responses[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert responses[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert await _count(http, "Account") == 1


async def test_composite_takes_at_most_25_subrequests(http: httpx.AsyncClient) -> None:
    """A 26th subrequest is refused before anything runs."""
    subrequests = [
        {
            "method": "POST",
            "url": f"{DATA}/sobjects/Account",
            "referenceId": f"r{i}",
            "body": {"Name": f"A{i}"},
        }
        for i in range(26)
    ]
    response = await http.post(f"{DATA}/composite", json={"compositeRequest": subrequests})
    assert response.status_code == 400
    assert await _count(http, "Account") == 0


async def test_collections_create_update_upsert_retrieve_delete(http: httpx.AsyncClient) -> None:
    """sObject Collections create, update, upsert, retrieve and delete, per record."""
    created = (
        await http.post(
            f"{DATA}/composite/sobjects",
            json={
                "allOrNone": False,
                "records": [
                    {"attributes": {"type": "Account"}, "Name": "Acme"},
                    {"attributes": {"type": "Product2"}, "Name": "Widget"},
                    {"attributes": {"type": "Account"}},
                ],
            },
        )
    ).json()
    assert [r["success"] for r in created] == [True, True, False]
    assert created[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert created[2]["errors"][0]["fields"] == ["Name"]
    account, product = created[0]["id"], created[1]["id"]
    updated = (
        await http.patch(
            f"{DATA}/composite/sobjects",
            json={"records": [{"attributes": {"type": "Account"}, "id": account, "Phone": "1"}]},
        )
    ).json()
    assert updated == [{"id": account, "success": True, "errors": []}]
    upserted = (
        await http.patch(
            f"{DATA}/composite/sobjects/Account/ERP_Customer_Id__c",
            json={
                "records": [
                    {"attributes": {"type": "Account"}, "ERP_Customer_Id__c": "C1", "Name": "One"},
                    {"attributes": {"type": "Account"}, "ERP_Customer_Id__c": "C1", "Name": "Uno"},
                ]
            },
        )
    ).json()
    assert [(r["success"], r["created"]) for r in upserted] == [(True, True), (True, False)]
    fetched = (
        await http.get(
            f"{DATA}/composite/sobjects/Account",
            params={"ids": f"{account},001000000000000AAA", "fields": "Name,Phone"},
        )
    ).json()
    assert fetched[0]["Phone"] == "1"
    assert fetched[1] is None
    deleted = (
        await http.delete(
            f"{DATA}/composite/sobjects",
            params={"ids": f"{account},{product}", "allOrNone": "false"},
        )
    ).json()
    assert [r["success"] for r in deleted] == [True, True]
    assert await _count(http, "Product2") == 0


async def test_collections_all_or_none(http: httpx.AsyncClient) -> None:
    """With allOrNone, valid records come back ALL_OR_NONE_OPERATION_ROLLED_BACK."""
    results = (
        await http.post(
            f"{DATA}/composite/sobjects",
            json={
                "allOrNone": True,
                "records": [
                    {"attributes": {"type": "Account"}, "Name": "Acme"},
                    {"attributes": {"type": "Account"}, "Nom": "x"},
                ],
            },
        )
    ).json()
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert await _count(http, "Account") == 0


async def test_collections_take_at_most_200_records(http: httpx.AsyncClient) -> None:
    """A 201-record collection is refused whole."""
    records = [{"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(201)]
    response = await http.post(f"{DATA}/composite/sobjects", json={"records": records})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


async def test_connector_composite(salesforce: SalesforceClient) -> None:
    """The connector runs chained subrequests and reports each outcome."""
    responses = await salesforce.composite(
        [
            CompositeSubrequest(
                method="POST", url="sobjects/Account", reference_id="acct", body={"Name": "Acme"}
            ),
            CompositeSubrequest(
                method="POST",
                url="sobjects/Order",
                reference_id="order",
                body={"AccountId": "@{acct.id}", "EffectiveDate": "2024-05-01"},
            ),
            CompositeSubrequest(
                method="GET", url="sobjects/Order/@{order.id}", reference_id="read"
            ),
        ]
    )
    assert all(r.ok for r in responses)
    assert responses[2].body["OrderNumber"] == "00000100"


async def test_connector_collections(salesforce: SalesforceClient) -> None:
    """create_many chunks by 200; update, upsert, retrieve and delete report per record."""
    created = await salesforce.create_many("Product2", [{"Name": f"P{i}"} for i in range(450)])
    assert len(created) == 450
    assert all(r.success for r in created)
    ids = [str(r.id) for r in created]
    await salesforce.update_many("Product2", [{"Id": ids[0], "IsActive": True}])
    upserted = await salesforce.upsert_many(
        "Account",
        "ERP_Customer_Id__c",
        [{"ERP_Customer_Id__c": "C1", "Name": "One"}, {"Name": "No key"}],
    )
    assert (upserted[0].success, upserted[0].created) == (True, True)
    assert upserted[1].success is False
    fetched = await salesforce.retrieve_many(
        "Product2", [ids[0], "01t000000000000AAA"], ["IsActive"]
    )
    assert fetched[0] is not None
    assert fetched[0].fields["IsActive"] is True
    assert fetched[1] is None
    deleted = await salesforce.delete_many(ids)
    assert all(r.success for r in deleted)
    assert await salesforce.query("SELECT Id FROM Product2") == []


async def test_connector_collections_all_or_none(salesforce: SalesforceClient) -> None:
    """all_or_none rolls the batch back and refuses more than 200 records up front."""
    results = await salesforce.create_many(
        "Account", [{"Name": "Acme"}, {"Name": None}], all_or_none=True
    )
    assert all(isinstance(r, SaveResult) for r in results)
    assert results[0].errors[0].status_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1].errors[0].fields == ["Name"]
    assert await salesforce.query("SELECT Id FROM Account") == []
    with pytest.raises(ValueError, match="200"):
        await salesforce.create_many("Account", [{"Name": "x"}] * 201, all_or_none=True)
