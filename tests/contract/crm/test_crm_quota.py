"""The daily request quota, queryAll and the recycle bin, and relative date literals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.sandboxes.crm import create_app

from .conftest import BASE_URL, DATA


async def _create(http: httpx.AsyncClient, sobject: str, fields: dict[str, Any]) -> str:
    response = await http.post(f"{DATA}/sobjects/{sobject}/", json=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _names(http: httpx.AsyncClient, soql: str, resource: str = "query") -> list[str]:
    response = await http.get(f"{DATA}/{resource}/", params={"q": soql})
    assert response.status_code == 200, response.text
    return [r["Name"] for r in response.json()["records"]]


async def test_requests_beyond_the_daily_quota_are_refused() -> None:
    """Past the configured quota every data call gets 403 REQUEST_LIMIT_EXCEEDED."""
    app: FastAPI = create_app(daily_request_limit=2)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as client:
        token = await client.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "ledgerbridge",
                "client_secret": "sandbox-secret",
            },
        )
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        statuses = [(await client.get(f"{DATA}/limits")).status_code for _ in range(3)]
        refused = await client.get(f"{DATA}/sobjects/")
    assert statuses == [200, 200, 403]
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=4/2"


async def test_query_all_sees_the_recycle_bin(http: httpx.AsyncClient) -> None:
    """Deleted records leave query but stay visible to queryAll with IsDeleted true."""
    kept = await _create(http, "Account", {"Name": "Kept"})
    gone = await _create(http, "Account", {"Name": "Gone"})
    await http.delete(f"{DATA}/sobjects/Account/{gone}")
    assert await _names(http, "SELECT Name FROM Account") == ["Kept"]
    assert await _names(http, "SELECT Name FROM Account ORDER BY Name", "queryAll") == [
        "Gone",
        "Kept",
    ]
    assert await _names(http, "SELECT Name FROM Account WHERE IsDeleted = true", "queryAll") == [
        "Gone"
    ]
    assert (await http.get(f"{DATA}/sobjects/Account/{gone}")).status_code == 404
    assert kept


async def test_connector_query_can_include_deleted(salesforce: SalesforceClient) -> None:
    """query(include_deleted=True) goes through queryAll."""
    record_id = await salesforce.create("Account", {"Name": "Gone"})
    await salesforce.delete("Account", record_id)
    assert await salesforce.query("SELECT Id FROM Account") == []
    [record] = await salesforce.query("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert (record.id, record.fields["IsDeleted"]) == (record_id, True)


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ("CreatedDate = TODAY", True),
        ("CreatedDate = YESTERDAY", False),
        ("CreatedDate < TODAY", False),
        ("CreatedDate > YESTERDAY", True),
        ("CreatedDate = LAST_N_DAYS:1", True),
        ("CreatedDate = NEXT_N_DAYS:3", True),
        ("CreatedDate = THIS_MONTH", True),
        ("CreatedDate = LAST_MONTH", False),
        ("CreatedDate = THIS_YEAR", True),
        ("CreatedDate = NEXT_YEAR", False),
        ("CreatedDate = THIS_WEEK", True),
        ("CreatedDate != LAST_WEEK", True),
    ],
)
async def test_date_literals_on_datetimes(
    http: httpx.AsyncClient, condition: str, matches: bool
) -> None:
    """Relative date literals cover whole UTC days on datetime fields."""
    await _create(http, "Account", {"Name": "New"})
    soql = f"SELECT Name FROM Account WHERE {condition}"  # noqa: S608 - SOQL, not SQL
    assert await _names(http, soql) == (["New"] if matches else [])


async def test_date_literals_only_fit_date_fields(http: httpx.AsyncClient) -> None:
    """A date literal compared with a text field is refused."""
    response = await http.get(
        f"{DATA}/query/", params={"q": "SELECT Id FROM Account WHERE Name = TODAY"}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"
