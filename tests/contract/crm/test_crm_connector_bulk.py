"""The connector's Bulk API 2.0 methods against the sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.runtime.errors import BackendRejected, NotFound


async def test_bulk_insert_reports_each_record(salesforce: SalesforceClient) -> None:
    """Inserted rows come back with ids; refused rows with the error and their values."""
    result = await salesforce.bulk_ingest(
        "Account",
        "insert",
        [{"Name": "Acme", "Website": "acme.example"}, {"Website": "nameless.example"}],
        poll_interval=0,
    )
    assert (result.state, result.records_processed, result.records_failed) == ("JobComplete", 2, 1)
    [created] = result.successes
    assert created.created is True
    assert created.fields == {"Name": "Acme", "Website": "acme.example"}
    assert (await salesforce.get("Account", str(created.id))).fields["Website"] == "acme.example"
    [refused] = result.failures
    assert refused.error is not None
    assert refused.error.startswith("REQUIRED_FIELD_MISSING")
    assert refused.fields["Website"] == "nameless.example"


async def test_bulk_upsert_update_and_delete(salesforce: SalesforceClient) -> None:
    """Upsert by external id, update with None clearing a field, delete by id."""
    first = await salesforce.bulk_ingest(
        "Account",
        "upsert",
        [{"ERP_Customer_Id__c": "C1", "Name": "One", "Phone": "1"}],
        external_id_field="ERP_Customer_Id__c",
        poll_interval=0,
    )
    again = await salesforce.bulk_ingest(
        "Account",
        "upsert",
        [{"ERP_Customer_Id__c": "C1", "Name": "Uno"}],
        external_id_field="ERP_Customer_Id__c",
        poll_interval=0,
    )
    record_id = str(first.successes[0].id)
    assert (first.successes[0].created, again.successes[0].created) == (True, False)
    await salesforce.bulk_ingest(
        "Account", "update", [{"Id": record_id, "Phone": None}], poll_interval=0
    )
    record = await salesforce.get("Account", record_id)
    assert (record.fields["Name"], record.fields["Phone"]) == ("Uno", None)
    await salesforce.bulk_ingest("Account", "delete", [{"Id": record_id}], poll_interval=0)
    with pytest.raises(NotFound):
        await salesforce.get("Account", record_id)


async def test_bulk_query_reads_every_page(salesforce: SalesforceClient) -> None:
    """bulk_query follows locators and returns CSV rows as text."""
    await salesforce.bulk_ingest(
        "Product2",
        "insert",
        [{"Name": f"P{i:03d}", "IsActive": i % 2 == 0} for i in range(25)],
        poll_interval=0,
    )
    rows = await salesforce.bulk_query(
        "SELECT Name, IsActive FROM Product2 ORDER BY Name", page_size=10, poll_interval=0
    )
    assert [r["Name"] for r in rows] == [f"P{i:03d}" for i in range(25)]
    assert rows[1]["IsActive"] == "false"


async def test_bulk_money_goes_out_exactly(salesforce: SalesforceClient) -> None:
    """Decimal values are written as exact decimal text."""
    [standard] = await salesforce.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
    product = await salesforce.create("Product2", {"Name": "Widget"})
    await salesforce.bulk_ingest(
        "PricebookEntry",
        "insert",
        [{"Pricebook2Id": standard.id, "Product2Id": product, "UnitPrice": Decimal("19.99")}],
        poll_interval=0,
    )
    [entry] = await salesforce.query("SELECT UnitPrice FROM PricebookEntry")
    assert entry.fields["UnitPrice"] == Decimal("19.99")


async def test_a_refused_job_is_rejected(salesforce: SalesforceClient) -> None:
    """A job Salesforce will not create raises BackendRejected."""
    with pytest.raises(BackendRejected, match="INVALIDJOB"):
        await salesforce.bulk_ingest("Account", "upsert", [{"Name": "x"}], poll_interval=0)
