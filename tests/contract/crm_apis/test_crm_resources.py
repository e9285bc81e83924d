"""The CRM System APIs over HTTP against the CRM sandbox: the same contract for every object.

Each resource is created in canonical form, read back with its ETag, found by a filter, paged
with a cursor, and updated only with a current If-Match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Resource:
    base: str
    body: dict[str, Any]
    change: dict[str, Any]
    filter: tuple[str, str]  # query parameter, canonical field it filters on


ADDRESS = {
    "street": "12 Taunusanlage",
    "city": "Frankfurt am Main",
    "postal_code": "60325",
    "country": "DE",
}
RESOURCES = {
    "accounts": Resource(
        "/system/crm-accounts/v1/accounts",
        {
            "name": "Meridian Capital",
            "account_number": "CUST-1",
            "billing_address": ADDRESS,
            "currency": "EUR",
        },
        {"name": "Meridian Capital Partners"},
        ("account_number", "account_number"),
    ),
    "contacts": Resource(
        "/system/crm-contacts/v1/contacts",
        {"first_name": "Ada", "last_name": "Byron", "email": "ada@example.com"},
        {"title": "Treasurer"},
        ("email", "email"),
    ),
    "opportunities": Resource(
        "/system/crm-opportunities/v1/opportunities",
        {
            "name": "FX hedging 2027",
            "stage": "prospecting",
            "close_date": "2026-12-31",
            "currency": "EUR",
            "amount": {"amount": "120000.00", "currency": "EUR"},
        },
        {"stage": "negotiation"},
        ("stage", "stage"),
    ),
    "products": Resource(
        "/system/crm-products/v1/products",
        {"sku": "CUSTODY-BASIC", "name": "Custody account", "unit": "EA", "active": True},
        {"name": "Custody account, basic"},
        ("sku", "sku"),
    ),
    "price-books": Resource(
        "/system/crm-price-books/v1/price-books",
        {"name": "Institutional 2027", "active": True, "standard": False},
        {"active": False},
        ("name", "name"),
    ),
    "cases": Resource(
        "/system/crm-cases/v1/cases",
        {"subject": "Invoice amount disputed", "status": "new", "priority": "high"},
        {"status": "working"},
        ("status", "status"),
    ),
}
# The CRM stores these as picklist labels; the filter takes the CRM's own value.
CRM_FILTER_VALUE = {"stage": {"prospecting": "Prospecting"}, "status": {"new": "New"}}


def _crm_value(field: str, value: Any) -> str:
    return str(CRM_FILTER_VALUE.get(field, {}).get(value, value))


@pytest.fixture(params=sorted(RESOURCES))
def resource(request: pytest.FixtureRequest) -> Resource:
    return RESOURCES[request.param]


def _same(sent: dict[str, Any], got: dict[str, Any]) -> None:
    """Every field sent comes back equal (fields the API fills in are not compared)."""
    for name, value in sent.items():
        if isinstance(value, dict):
            _same(value, got[name])
        else:
            assert got[name] == value, name


async def test_create_read_back_with_etag(system: httpx.AsyncClient, resource: Resource) -> None:
    """A canonical record created through the API reads back equal, with an ETag."""
    created = await system.post(resource.base, json=resource.body)
    assert created.status_code == 201, created.text
    record = created.json()
    _same(resource.body, record)
    fetched = await system.get(f"{resource.base}/{record['crm_id']}")
    assert fetched.status_code == 200
    assert fetched.json() == record
    assert fetched.headers["etag"].startswith('W/"')


async def test_filter_and_cursor_paging(system: httpx.AsyncClient, resource: Resource) -> None:
    """Three matching records come back two per page, then one, with no repeats."""
    for _ in range(3):
        assert (await system.post(resource.base, json=resource.body)).status_code == 201
    param, field = resource.filter
    value = _crm_value(field, resource.body[field])
    first = (await system.get(resource.base, params={param: value, "limit": 2})).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = (
        await system.get(
            resource.base, params={param: value, "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert len(second["items"]) == 1
    assert second.get("next_cursor") is None
    ids = [r["crm_id"] for r in first["items"] + second["items"]]
    assert len(set(ids)) == 3


async def test_update_needs_a_current_etag(system: httpx.AsyncClient, resource: Resource) -> None:
    """An update with the ETag just read succeeds; the old ETag then gets 412, nothing written."""
    record = (await system.post(resource.base, json=resource.body)).json()
    url = f"{resource.base}/{record['crm_id']}"
    etag = (await system.get(url)).headers["etag"]
    changed = {**resource.body, **resource.change}
    updated = await system.put(url, json=changed, headers={"If-Match": etag})
    assert updated.status_code == 200, updated.text
    _same(resource.change, updated.json())
    stale = await system.put(url, json=resource.body, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert (await system.get(url)).json() == updated.json()


async def test_update_without_if_match_names_the_header(
    system: httpx.AsyncClient, resource: Resource
) -> None:
    """An update with no If-Match is refused, naming the header."""
    record = (await system.post(resource.base, json=resource.body)).json()
    response = await system.put(f"{resource.base}/{record['crm_id']}", json=resource.body)
    assert response.status_code == 422
    assert "if-match" in [e["field"] for e in response.json()["errors"]]


async def test_errors_are_problems(system: httpx.AsyncClient, resource: Resource) -> None:
    """Unknown ids, malformed ids, malformed bodies and foreign cursors get problem+json."""
    unknown = await system.get(f"{resource.base}/001000000000000AAA")
    assert unknown.status_code == 404
    malformed_id = await system.get(f"{resource.base}/not-an-id")
    assert malformed_id.status_code == 422
    bad_body = await system.post(resource.base, json={**resource.body, "unexpected": 1})
    assert bad_body.status_code == 422
    assert "unexpected" in [e["field"] for e in bad_body.json()["errors"]]
    bad_cursor = await system.get(resource.base, params={"cursor": "%%%"})
    assert bad_cursor.status_code == 422
    assert [e["field"] for e in bad_cursor.json()["errors"]] == ["cursor"]
    for response in (unknown, malformed_id, bad_body, bad_cursor):
        assert response.headers["content-type"] == PROBLEM
