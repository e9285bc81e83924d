"""Bulk API 2.0 ingest and query jobs, over plain HTTP, as SHAPES.md describes them."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from .conftest import DATA

JOBS = f"{DATA}/jobs"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def _ingest(
    http: httpx.AsyncClient, operation: str, sobject: str, data: str, **extra: Any
) -> dict[str, Any]:
    created = await http.post(
        f"{JOBS}/ingest",
        json={
            "operation": operation,
            "object": sobject,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
            **extra,
        },
    )
    assert created.status_code == 200, created.text
    job: dict[str, Any] = created.json()
    upload = await http.put(
        f"{JOBS}/ingest/{job['id']}/batches",
        content=data.encode(),
        headers={"Content-Type": "text/csv; charset=UTF-8"},
    )
    assert upload.status_code == 201
    closed = await http.patch(f"{JOBS}/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert closed.json()["state"] == "UploadComplete"
    finished: dict[str, Any] = (await http.get(f"{JOBS}/ingest/{job['id']}")).json()
    return finished


async def test_an_ingest_job_opens_with_salesforces_shape(http: httpx.AsyncClient) -> None:
    """A new ingest job is Open, with its id, content URL and formats."""
    body = (
        await http.post(
            f"{JOBS}/ingest",
            json={"operation": "insert", "object": "Account", "contentType": "CSV"},
        )
    ).json()
    assert body["id"].startswith("750")
    assert body["state"] == "Open"
    assert body["contentUrl"] == f"services/data/v59.0/jobs/ingest/{body['id']}/batches"
    assert (body["columnDelimiter"], body["lineEnding"], body["apiVersion"]) == (
        "COMMA",
        "LF",
        59.0,
    )
    assert body["jobType"] == "V2Ingest"


async def test_insert_reports_successes_and_failures(http: httpx.AsyncClient) -> None:
    """Each row succeeds or fails on its own; results come back as CSV."""
    job = await _ingest(
        http,
        "insert",
        "Account",
        'Name,BillingCity,Industry\nAcme,Lyon,Banking\n,Paris,Retail\n"Beta, Inc",Nice,Energy\n',
    )
    assert job["state"] == "JobComplete"
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (3, 1)
    successes = _rows((await http.get(f"{JOBS}/ingest/{job['id']}/successfulResults")).text)
    failures = _rows((await http.get(f"{JOBS}/ingest/{job['id']}/failedResults")).text)
    assert [(r["Name"], r["sf__Created"]) for r in successes] == [
        ("Acme", "true"),
        ("Beta, Inc", "true"),
    ]
    assert successes[0]["sf__Id"].startswith("001")
    assert failures[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert failures[0]["BillingCity"] == "Paris"


async def test_upsert_update_and_delete_jobs(http: httpx.AsyncClient) -> None:
    """Upsert by external id, update by Id (#N/A clears) and delete by Id."""
    upserted = await _ingest(
        http,
        "upsert",
        "Account",
        "ERP_Customer_Id__c,Name,Phone\nC1,One,1\nC2,Two,2\n",
        externalIdFieldName="ERP_Customer_Id__c",
    )
    again = await _ingest(
        http,
        "upsert",
        "Account",
        "ERP_Customer_Id__c,Name\nC1,Uno\n",
        externalIdFieldName="ERP_Customer_Id__c",
    )
    ids = [
        r["sf__Id"]
        for r in _rows((await http.get(f"{JOBS}/ingest/{upserted['id']}/successfulResults")).text)
    ]
    created = _rows((await http.get(f"{JOBS}/ingest/{again['id']}/successfulResults")).text)
    assert created[0]["sf__Created"] == "false"
    await _ingest(http, "update", "Account", f"Id,Phone\n{ids[0]},#N/A\n")
    one = (await http.get(f"{DATA}/sobjects/Account/{ids[0]}")).json()
    assert (one["Name"], one["Phone"]) == ("Uno", None)
    deleted = await _ingest(http, "delete", "Account", f"Id\n{ids[0]}\n{ids[1]}\n")
    assert deleted["numberRecordsFailed"] == 0
    assert (await http.get(f"{DATA}/sobjects/Account/{ids[1]}")).status_code == 404


async def test_job_errors(http: httpx.AsyncClient) -> None:
    """Bad operations, objects and state changes are refused."""
    bad_operation = await http.post(
        f"{JOBS}/ingest", json={"operation": "merge", "object": "Account"}
    )
    bad_object = await http.post(f"{JOBS}/ingest", json={"operation": "insert", "object": "Nope"})
    missing_key = await http.post(
        f"{JOBS}/ingest", json={"operation": "upsert", "object": "Account"}
    )
    unknown = await http.get(f"{JOBS}/ingest/750000000000000AAA")
    assert bad_operation.status_code == 400
    assert bad_object.status_code == 404
    assert missing_key.status_code == 400
    assert unknown.status_code == 404


async def test_an_aborted_job_leaves_its_rows_unprocessed(http: httpx.AsyncClient) -> None:
    """Aborting an open job processes nothing; its rows are the unprocessed records."""
    job = (
        await http.post(f"{JOBS}/ingest", json={"operation": "insert", "object": "Account"})
    ).json()
    await http.put(f"{JOBS}/ingest/{job['id']}/batches", content=b"Name\nAcme\n")
    aborted = await http.patch(f"{JOBS}/ingest/{job['id']}", json={"state": "Aborted"})
    unprocessed = _rows((await http.get(f"{JOBS}/ingest/{job['id']}/unprocessedrecords")).text)
    assert aborted.json()["state"] == "Aborted"
    assert unprocessed == [{"Name": "Acme"}]
    assert (await http.get(f"{DATA}/query/", params={"q": "SELECT COUNT() FROM Account"})).json()[
        "totalSize"
    ] == 0


async def test_query_job_pages_csv_with_locators(http: httpx.AsyncClient) -> None:
    """A query job answers JSON, then pages CSV results with Sforce-Locator."""
    names_csv = "Name\n" + "".join(f"A{i:02d}\n" for i in range(5))
    await _ingest(http, "insert", "Account", names_csv)
    created = await http.post(
        f"{JOBS}/query",
        json={"operation": "query", "query": "SELECT Id, Name FROM Account ORDER BY Name"},
        headers={"Accept": "text/csv"},
    )
    job = created.json()
    assert job["state"] == "UploadComplete"
    assert (await http.get(f"{JOBS}/query/{job['id']}")).json()["state"] == "JobComplete"
    names: list[str] = []
    locator = ""
    pages = 0
    while True:
        params: dict[str, Any] = {"maxRecords": 2, **({"locator": locator} if locator else {})}
        page = await http.get(f"{JOBS}/query/{job['id']}/results", params=params)
        assert page.headers["content-type"].startswith("text/csv")
        rows = _rows(page.text)
        assert int(page.headers["Sforce-NumberOfRecords"]) == len(rows)
        names += [r["Name"] for r in rows]
        pages += 1
        locator = page.headers["Sforce-Locator"]
        if locator == "null":
            break
    assert names == [f"A{i:02d}" for i in range(5)]
    assert pages == 3


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT COUNT() FROM Account",
        "SELECT FROM Account",
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
        "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
    ],
)
async def test_bad_query_jobs_are_refused(http: httpx.AsyncClient, soql: str) -> None:
    """Aggregates, sub-queries and malformed SOQL are refused when the job is created."""
    response = await http.post(f"{JOBS}/query", json={"operation": "query", "query": soql})
    assert response.status_code == 400
