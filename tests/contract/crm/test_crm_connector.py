"""The Salesforce connector against the CRM sandbox: every operation, its errors and paging."""

from __future__ import annotations

import asyncio
import socket
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.salesforce import SalesforceClient, SObjectRecord, UpsertResult
from ledgerbridge.runtime.errors import (
    AuthFailed,
    BackendRejected,
    BackendUnavailable,
    Conflict,
    NotFound,
)
from ledgerbridge.sandboxes.crm import BackgroundServer, create_app

from .conftest import BASE_URL, DATA


def _client(app: FastAPI, **overrides: str) -> SalesforceClient:
    settings = {"client_id": "ledgerbridge", "client_secret": "sandbox-secret", **overrides}
    return SalesforceClient(
        base_url=BASE_URL,
        transport=httpx.ASGITransport(app=app),
        client_id=settings["client_id"],
        client_secret=settings["client_secret"],
    )


async def test_create_then_get(salesforce: SalesforceClient) -> None:
    """create returns the new id; get returns a typed record without attributes."""
    record_id = await salesforce.create("Account", {"Name": "Acme", "BillingCity": "Lyon"})
    record = await salesforce.get("Account", record_id)
    assert isinstance(record, SObjectRecord)
    assert (record.type, record.id) == ("Account", record_id)
    assert record.fields["Name"] == "Acme"
    assert record.fields["BillingCity"] == "Lyon"
    assert "attributes" not in record.fields


async def test_get_with_fields(salesforce: SalesforceClient) -> None:
    """get(fields=...) returns only those fields and the id."""
    record_id = await salesforce.create("Account", {"Name": "Acme", "Phone": "1"})
    record = await salesforce.get("Account", record_id, fields=["Phone"])
    assert record.fields == {"Id": record_id, "Phone": "1"}


async def test_update_and_delete(salesforce: SalesforceClient) -> None:
    """update changes fields; after delete, get raises NotFound."""
    record_id = await salesforce.create("Account", {"Name": "Acme"})
    await salesforce.update("Account", record_id, {"Name": "Acme SA"})
    assert (await salesforce.get("Account", record_id)).fields["Name"] == "Acme SA"
    await salesforce.delete("Account", record_id)
    with pytest.raises(NotFound) as caught:
        await salesforce.get("Account", record_id)
    assert caught.value.backend == "salesforce"
    assert caught.value.status_code == 404


async def test_upsert_reports_created_then_updated(salesforce: SalesforceClient) -> None:
    """upsert creates the first time and updates the same record the second time."""
    created = await salesforce.upsert("Account", "ERP_Customer_Id__c", "C-1", {"Name": "A"})
    updated = await salesforce.upsert("Account", "ERP_Customer_Id__c", "C-1", {"Name": "B"})
    assert created.created is True
    assert updated == UpsertResult(id=created.id, created=False)
    record = await salesforce.get_by_external_id("Account", "ERP_Customer_Id__c", "C-1")
    assert (record.id, record.fields["Name"]) == (created.id, "B")


async def test_external_id_values_are_path_encoded(salesforce: SalesforceClient) -> None:
    """Values with spaces and reserved characters reach the sandbox intact."""
    result = await salesforce.upsert(
        "Order",
        "External_Id__c",
        "PO 7?&#",
        _order_fields(await salesforce.create("Account", {"Name": "Acme"})),
    )
    record = await salesforce.get_by_external_id("Order", "External_Id__c", "PO 7?&#")
    assert record.id == result.id


def _order_fields(account_id: str) -> dict[str, object]:
    return {"AccountId": account_id, "EffectiveDate": "2024-05-01", "Status": "Draft"}


async def test_money_stays_exact_both_ways(salesforce: SalesforceClient) -> None:
    """Decimals go out and come back exactly; totals are exact sums."""
    account = await salesforce.create("Account", {"Name": "Acme"})
    product = await salesforce.create("Product2", {"Name": "Widget"})
    order = await salesforce.create("Order", _order_fields(account))
    for _ in range(3):
        await salesforce.create(
            "OrderItem",
            {"OrderId": order, "Product2Id": product, "Quantity": 1, "UnitPrice": Decimal("0.10")},
        )
    record = await salesforce.get("Order", order, fields=["TotalAmount"])
    assert record.fields["TotalAmount"] == Decimal("0.30")
    assert isinstance(record.fields["TotalAmount"], Decimal)


async def test_query_keeps_parent_relationships_nested(salesforce: SalesforceClient) -> None:
    """Parent fields come back as nested dicts without attributes."""
    account = await salesforce.create("Account", {"Name": "Acme"})
    order = await salesforce.create("Order", _order_fields(account))
    [record] = await salesforce.query("SELECT OrderNumber, Account.Name FROM Order")
    assert record.id == order
    assert record.type == "Order"
    assert record.fields == {"OrderNumber": "00000100", "Account": {"Name": "Acme"}}


async def test_query_follows_next_records_url(
    salesforce: SalesforceClient, http: httpx.AsyncClient
) -> None:
    """query returns every record across batches."""
    # Collections load 200 records per call, which keeps this test quick.
    for start in range(0, 2003, 200):
        records = [
            {"attributes": {"type": "Product2"}, "Name": f"P{n:04d}"}
            for n in range(start, min(start + 200, 2003))
        ]
        await http.post(f"{DATA}/composite/sobjects", json={"records": records})
    records = await salesforce.query("SELECT Name FROM Product2 ORDER BY Name DESC")
    assert len(records) == 2003
    assert records[0].fields["Name"] == "P2002"
    assert records[-1].fields["Name"] == "P0000"


async def test_rejections_carry_the_fields(salesforce: SalesforceClient) -> None:
    """A 400 becomes BackendRejected with the error code and the fields named."""
    with pytest.raises(BackendRejected) as caught:
        await salesforce.create("Order", {"Status": "Draft"})
    error = caught.value
    assert error.status_code == 400
    assert "REQUIRED_FIELD_MISSING" in error.message
    assert error.fields == ["AccountId", "EffectiveDate"]


async def test_malformed_query_is_rejected(salesforce: SalesforceClient) -> None:
    """Bad SOQL becomes BackendRejected."""
    with pytest.raises(BackendRejected, match="MALFORMED_QUERY"):
        await salesforce.query("SELECT FROM Account")


async def test_several_matches_are_a_conflict(salesforce: SalesforceClient) -> None:
    """A 300 from an external id lookup or upsert becomes Conflict."""
    for name in ("A", "B"):
        await salesforce.create("Account", {"Name": name, "ERP_Customer_Id__c": "DUP"})
    with pytest.raises(Conflict) as caught:
        await salesforce.upsert("Account", "ERP_Customer_Id__c", "DUP", {"Name": "C"})
    assert caught.value.status_code == 300
    with pytest.raises(Conflict):
        await salesforce.get_by_external_id("Account", "ERP_Customer_Id__c", "DUP")


async def test_bad_credentials_are_auth_failed(crm_app: FastAPI) -> None:
    """A refused token request becomes AuthFailed naming the OAuth error."""
    async with _client(crm_app, client_secret="wrong") as salesforce:
        with pytest.raises(AuthFailed, match="invalid_client") as caught:
            await salesforce.query("SELECT Id FROM Account")
    assert caught.value.backend == "salesforce"


async def test_an_expired_session_is_renewed_once(crm_app: FastAPI) -> None:
    """After the org forgets the session, the next call logs in again and succeeds."""
    async with _client(crm_app) as salesforce:
        record_id = await salesforce.create("Account", {"Name": "Acme"})
        crm_app.state.sandbox.store.revoke_sessions()
        record = await salesforce.get("Account", record_id)
    assert record.id == record_id


async def test_the_daily_quota_is_retryable_later() -> None:
    """REQUEST_LIMIT_EXCEEDED becomes BackendUnavailable: the next day it works again."""
    async with _client(create_app(daily_request_limit=1)) as salesforce:
        await salesforce.create("Account", {"Name": "Acme"})
        with pytest.raises(BackendUnavailable, match="REQUEST_LIMIT_EXCEEDED") as caught:
            await salesforce.create("Account", {"Name": "Beta"})
    assert caught.value.status_code == 403


def _failing(handler: httpx.MockTransport) -> SalesforceClient:
    return SalesforceClient(base_url=BASE_URL, client_id="x", client_secret="y", transport=handler)


def _token_then(failure: httpx.Response | Exception) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/services/oauth2/token":
            return httpx.Response(200, json={"access_token": "t", "instance_url": BASE_URL})
        if isinstance(failure, Exception):
            raise failure
        return failure

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(500, json=[{"message": "boom", "errorCode": "UNKNOWN_EXCEPTION"}]),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectError("connection refused"),
        httpx.Response(200, text="<html>maintenance</html>"),
    ],
)
async def test_backend_trouble_is_unavailable(failure: httpx.Response | Exception) -> None:
    """5xx answers, timeouts, dropped connections and garbage become BackendUnavailable."""
    async with _failing(_token_then(failure)) as salesforce:
        with pytest.raises(BackendUnavailable) as caught:
            await salesforce.get("Account", "001000000000000AAA")
    assert caught.value.backend == "salesforce"


async def test_an_unreachable_host_is_unavailable() -> None:
    """A real connection refused on a closed port becomes BackendUnavailable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with SalesforceClient(
        base_url=f"http://127.0.0.1:{port}", client_id="x", client_secret="y", timeout=2
    ) as salesforce:
        with pytest.raises(BackendUnavailable):
            await salesforce.query("SELECT Id FROM Account")


async def test_query_keeps_child_records(salesforce: SalesforceClient) -> None:
    """Child sub-query results stay nested under the relationship name."""
    account = await salesforce.create("Account", {"Name": "Acme"})
    product = await salesforce.create("Product2", {"Name": "Widget"})
    order = await salesforce.create("Order", _order_fields(account))
    await salesforce.create(
        "OrderItem", {"OrderId": order, "Product2Id": product, "Quantity": 2, "UnitPrice": "1.25"}
    )
    [record] = await salesforce.query(
        "SELECT OrderNumber, (SELECT TotalPrice FROM OrderItems) FROM Order"
    )
    items = record.fields["OrderItems"]
    assert items["totalSize"] == 1
    assert items["records"] == [{"TotalPrice": Decimal("2.50")}]


@pytest.mark.slow
async def test_concurrent_writes_keep_totals_exact() -> None:
    """Many simultaneous item creates over real HTTP leave the order total exact."""
    with BackgroundServer(create_app()) as server:
        async with SalesforceClient(
            base_url=server.url, client_id="ledgerbridge", client_secret="sandbox-secret"
        ) as salesforce:
            account = await salesforce.create("Account", {"Name": "Acme"})
            product = await salesforce.create("Product2", {"Name": "Widget"})
            order = await salesforce.create("Order", _order_fields(account))
            item = {"OrderId": order, "Product2Id": product, "Quantity": 1}
            await asyncio.gather(
                *(
                    salesforce.create("OrderItem", {**item, "UnitPrice": Decimal("0.01")})
                    for _ in range(60)
                )
            )
            record = await salesforce.get("Order", order, fields=["TotalAmount"])
            numbers = await salesforce.query("SELECT OrderItemNumber FROM OrderItem")
    assert record.fields["TotalAmount"] == Decimal("0.60")
    assert len({r.fields["OrderItemNumber"] for r in numbers}) == 60
