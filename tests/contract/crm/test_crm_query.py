"""SOQL on the CRM sandbox: selection, relationships, filters, ordering, paging and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from .conftest import DATA


async def _create(http: httpx.AsyncClient, sobject: str, fields: dict[str, Any]) -> str:
    response = await http.post(f"{DATA}/sobjects/{sobject}/", json=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _query(http: httpx.AsyncClient, soql: str, **headers: str) -> httpx.Response:
    return await http.get(f"{DATA}/query/", params={"q": soql}, headers=headers)


async def _names(http: httpx.AsyncClient, soql: str) -> list[str]:
    response = await _query(http, soql)
    assert response.status_code == 200, response.text
    return [r["Name"] for r in response.json()["records"]]


@pytest.fixture
async def accounts(http: httpx.AsyncClient) -> dict[str, str]:
    """Five accounts with varied cities, industries and phones."""
    rows = [
        {"Name": "Acme", "BillingCity": "Lyon", "Industry": "Banking", "Phone": "1"},
        {"Name": "Beta", "BillingCity": "Paris", "Industry": "Retail"},
        {"Name": "Gamma", "BillingCity": "lyon", "Industry": "Banking", "Phone": "3"},
        {"Name": "Delta 50%", "BillingCity": "Nice", "Industry": "Energy", "Phone": "4"},
        {"Name": "Epsilon", "Industry": "Retail", "Phone": "5"},
    ]
    return {row["Name"]: await _create(http, "Account", row) for row in rows}


async def test_query_returns_selected_fields_with_attributes(
    http: httpx.AsyncClient, accounts: dict[str, str]
) -> None:
    """Each record has attributes and exactly the selected fields."""
    body = (await _query(http, "SELECT Id, Name FROM Account WHERE Name = 'Acme'")).json()
    assert body["totalSize"] == 1
    assert body["done"] is True
    assert "nextRecordsUrl" not in body
    assert body["records"] == [
        {
            "attributes": {
                "type": "Account",
                "url": f"{DATA}/sobjects/Account/{accounts['Acme']}",
            },
            "Id": accounts["Acme"],
            "Name": "Acme",
        }
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("BillingCity = 'LYON'", ["Acme", "Gamma"]),
        ("BillingCity != 'Lyon'", ["Beta", "Delta 50%", "Epsilon"]),
        ("BillingCity = null", ["Epsilon"]),
        ("Phone != null AND Industry = 'Banking'", ["Acme", "Gamma"]),
        ("Industry = 'Energy' OR Name LIKE 'b%'", ["Beta", "Delta 50%"]),
        ("NOT (Industry = 'Retail' OR Industry = 'Banking')", ["Delta 50%"]),
        ("Industry IN ('Energy', 'Retail') AND (Phone = '5' OR Phone = null)", ["Beta", "Epsilon"]),
        ("Industry NOT IN ('Banking')", ["Beta", "Delta 50%", "Epsilon"]),
        ("Name LIKE '%\\%'", ["Delta 50%"]),
        ("Name LIKE '_eta'", ["Beta"]),
        ("Name > 'Delta' AND Name <= 'Gamma'", ["Delta 50%", "Epsilon", "Gamma"]),
    ],
)
async def test_where_filters(
    http: httpx.AsyncClient, accounts: dict[str, str], where: str, expected: list[str]
) -> None:
    """Comparisons, LIKE, IN, NULL, AND, OR, NOT and parentheses filter like SOQL."""
    soql = f"SELECT Name FROM Account WHERE {where} ORDER BY Name"  # noqa: S608 - SOQL, not SQL
    names = await _names(http, soql)
    assert names == expected


async def test_order_by_limit_offset(http: httpx.AsyncClient, accounts: dict[str, str]) -> None:
    """ORDER BY with direction and NULLS, then OFFSET and LIMIT."""
    assert await _names(http, "SELECT Name FROM Account ORDER BY BillingCity DESC, Name") == [
        "Beta",
        "Delta 50%",
        "Acme",
        "Gamma",
        "Epsilon",
    ]
    assert await _names(
        http, "SELECT Name FROM Account ORDER BY BillingCity ASC NULLS LAST LIMIT 2 OFFSET 3"
    ) == ["Beta", "Epsilon"]


async def test_count(http: httpx.AsyncClient, accounts: dict[str, str]) -> None:
    """COUNT() answers in totalSize with no records."""
    body = (await _query(http, "SELECT COUNT() FROM Account WHERE Industry = 'Retail'")).json()
    assert body == {"totalSize": 2, "done": True, "records": []}


async def test_parent_relationship_fields_nest(http: httpx.AsyncClient) -> None:
    """Account.Name and Product2.ProductCode come back as nested records; filters see them."""
    account = await _create(http, "Account", {"Name": "Acme"})
    product = await _create(http, "Product2", {"Name": "Widget", "ProductCode": "W-1"})
    order = await _create(http, "Order", {"AccountId": account, "EffectiveDate": "2024-05-01"})
    await _create(
        http,
        "OrderItem",
        {"OrderId": order, "Product2Id": product, "Quantity": 2, "UnitPrice": "9.95"},
    )
    response = await _query(
        http,
        "SELECT Quantity, TotalPrice, Order.Account.Name, Order.OrderNumber, "
        "Product2.ProductCode FROM OrderItem WHERE Order.Account.Name = 'acme'",
    )
    [record] = response.json()["records"]
    assert b'"TotalPrice":19.90' in response.content
    assert record["Order"]["Account"]["Name"] == "Acme"
    assert record["Order"]["Account"]["attributes"]["type"] == "Account"
    assert record["Order"]["OrderNumber"] == "00000100"
    assert record["Product2"] == {
        "attributes": {"type": "Product2", "url": f"{DATA}/sobjects/Product2/{product}"},
        "ProductCode": "W-1",
    }


async def test_a_missing_parent_is_null(http: httpx.AsyncClient) -> None:
    """A relationship with no parent record comes back as null."""
    await _create(http, "Account", {"Name": "Orphan"})
    [record] = (await _query(http, "SELECT Name, Parent.Name FROM Account")).json()["records"]
    assert record["Parent"] is None


async def test_typed_comparisons(http: httpx.AsyncClient) -> None:
    """Numbers, dates, datetimes and booleans compare by value, not as text."""
    account = await _create(http, "Account", {"Name": "Acme"})
    for day in ("2024-01-09", "2024-01-10", "2024-02-01"):
        await _create(http, "Order", {"AccountId": account, "EffectiveDate": day, "Name": day})
    await _create(http, "Product2", {"Name": "On", "IsActive": True})
    await _create(http, "Product2", {"Name": "Off"})
    on_or_after = await _names(
        http, "SELECT Name FROM Order WHERE EffectiveDate >= 2024-01-10 ORDER BY EffectiveDate"
    )
    assert on_or_after == ["2024-01-10", "2024-02-01"]
    assert await _names(http, "SELECT Name FROM Product2 WHERE IsActive = true") == ["On"]
    assert await _names(
        http, "SELECT Name FROM Order WHERE TotalAmount = 0 AND CreatedDate > 2020-01-01T00:00:00Z"
    ) == ["2024-01-09", "2024-01-10", "2024-02-01"]


async def test_relative_date_literals(http: httpx.AsyncClient) -> None:
    """TODAY and LAST_N_DAYS:n resolve against the current UTC date."""
    account = await _create(http, "Account", {"Name": "Acme"})
    today = datetime.now(UTC).date()
    for delta in (0, 3, 10):
        day = (today - timedelta(days=delta)).isoformat()
        await _create(http, "Order", {"AccountId": account, "EffectiveDate": day, "Name": day})
    recent = await _names(
        http, "SELECT Name FROM Order WHERE EffectiveDate = LAST_N_DAYS:5 ORDER BY Name DESC"
    )
    assert recent == [today.isoformat(), (today - timedelta(days=3)).isoformat()]
    assert await _names(http, "SELECT Name FROM Order WHERE EffectiveDate = TODAY") == [
        today.isoformat()
    ]


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT FROM Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account WHERE Name = 'x",
        "SELECT Id FROM Account LIMIT ten",
        "DELETE FROM Account",
        "SELECT Id, COUNT() FROM Account",
    ],
)
async def test_malformed_soql(http: httpx.AsyncClient, soql: str) -> None:
    """Syntax errors answer 400 MALFORMED_QUERY."""
    response = await _query(http, soql)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Colour FROM Account", "INVALID_FIELD"),
        ("SELECT Owner2.Name FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Spaceship", "INVALID_TYPE"),
    ],
)
async def test_semantic_errors(http: httpx.AsyncClient, soql: str, code: str) -> None:
    """Unknown fields, relationships, objects and mistyped literals are refused."""
    response = await _query(http, soql)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


async def test_large_results_page_by_batch_size(http: httpx.AsyncClient) -> None:
    """Results beyond the batch size come through nextRecordsUrl until done."""
    for number in range(450):
        await _create(http, "Account", {"Name": f"A{number:04d}"})
    first = await _query(
        http, "SELECT Name FROM Account ORDER BY Name", **{"Sforce-Query-Options": "batchSize=200"}
    )
    body = first.json()
    names = [r["Name"] for r in body["records"]]
    pages = 1
    while not body["done"]:
        body = (await http.get(body["nextRecordsUrl"])).json()
        names += [r["Name"] for r in body["records"]]
        pages += 1
    assert pages == 3
    assert body["totalSize"] == 450
    assert names == [f"A{n:04d}" for n in range(450)]


async def test_default_batch_is_2000(http: httpx.AsyncClient) -> None:
    """Without options a query returns 2000 records per batch."""
    for start in range(0, 2001, 200):
        records = [
            {"attributes": {"type": "Product2"}, "Name": f"P{n}"}
            for n in range(start, min(start + 200, 2001))
        ]
        await http.post(f"{DATA}/composite/sobjects", json={"records": records})
    body = (await _query(http, "SELECT Id FROM Product2")).json()
    assert len(body["records"]) == 2000
    assert body["nextRecordsUrl"].startswith(f"{DATA}/query/01g")
    last = (await http.get(body["nextRecordsUrl"])).json()
    assert (len(last["records"]), last["done"]) == (1, True)


async def test_an_unknown_locator_is_refused(http: httpx.AsyncClient) -> None:
    """A nextRecordsUrl the sandbox never issued gets INVALID_QUERY_LOCATOR."""
    response = await http.get(f"{DATA}/query/01gXXXXXXXXXXXXXXX-2000")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


async def test_child_subqueries_nest_related_records(http: httpx.AsyncClient) -> None:
    """(SELECT ... FROM OrderItems) returns each order's items, filtered, sorted and limited."""
    account = await _create(http, "Account", {"Name": "Acme"})
    product = await _create(http, "Product2", {"Name": "Widget", "ProductCode": "W-1"})
    full = await _create(http, "Order", {"AccountId": account, "EffectiveDate": "2024-05-01"})
    empty = await _create(http, "Order", {"AccountId": account, "EffectiveDate": "2024-05-02"})
    for quantity in (1, 3, 2):
        await _create(
            http,
            "OrderItem",
            {"OrderId": full, "Product2Id": product, "Quantity": quantity, "UnitPrice": 1},
        )
    response = await _query(
        http,
        "SELECT Id, (SELECT Quantity, Product2.ProductCode FROM OrderItems "
        "WHERE Quantity > 1 ORDER BY Quantity DESC LIMIT 5) FROM Order ORDER BY EffectiveDate",
    )
    first, second = response.json()["records"]
    assert first["Id"] == full
    items = first["OrderItems"]
    assert (items["totalSize"], items["done"]) == (2, True)
    assert [i["Quantity"] for i in items["records"]] == [3, 2]
    assert items["records"][0]["Product2"]["ProductCode"] == "W-1"
    assert items["records"][0]["attributes"]["type"] == "OrderItem"
    assert second["Id"] == empty
    assert second["OrderItems"] is None
    accounts = (
        await _query(
            http, "SELECT Name, (SELECT Id FROM Orders), (SELECT Id FROM Contacts) FROM Account"
        )
    ).json()["records"]
    assert accounts[0]["Orders"]["totalSize"] == 2
    assert accounts[0]["Contacts"] is None


async def test_unknown_child_relationships_are_refused(http: httpx.AsyncClient) -> None:
    """A sub-query over a relationship the object lacks gets INVALID_TYPE."""
    await _create(http, "Account", {"Name": "Acme"})
    response = await _query(http, "SELECT Id, (SELECT Id FROM OrderItems) FROM Account")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_TYPE"


async def _orders_with_totals(http: httpx.AsyncClient) -> dict[str, str]:
    accounts = {name: await _create(http, "Account", {"Name": name}) for name in ("Acme", "Beta")}
    product = await _create(http, "Product2", {"Name": "Widget"})
    for name, prices in (("Acme", ["10.10", "20.20"]), ("Beta", ["5.05"])):
        for price in prices:
            order = await _create(
                http, "Order", {"AccountId": accounts[name], "EffectiveDate": "2024-05-01"}
            )
            await _create(
                http,
                "OrderItem",
                {"OrderId": order, "Product2Id": product, "Quantity": 1, "UnitPrice": price},
            )
    return accounts


async def test_group_by_with_aggregates(http: httpx.AsyncClient) -> None:
    """GROUP BY yields AggregateResult rows with exact sums, counts and aliases."""
    accounts = await _orders_with_totals(http)
    response = await _query(
        http,
        "SELECT AccountId, SUM(TotalAmount) total, COUNT(Id), MAX(TotalAmount) FROM Order "
        "GROUP BY AccountId ORDER BY SUM(TotalAmount) DESC",
    )
    body = response.json()
    assert body["totalSize"] == 2
    assert body["records"][0] == {
        "attributes": {"type": "AggregateResult"},
        "AccountId": accounts["Acme"],
        "total": 30.30,
        "expr0": 2,
        "expr1": 20.20,
    }
    assert b'"total":30.30' in response.content
    assert body["records"][1]["AccountId"] == accounts["Beta"]


async def test_aggregates_without_group_by(http: httpx.AsyncClient) -> None:
    """Without GROUP BY one AggregateResult covers every matching row."""
    await _orders_with_totals(http)
    [row] = (
        await _query(
            http,
            "SELECT COUNT(Id) n, COUNT_DISTINCT(AccountId) accounts, AVG(TotalAmount) average, "
            "MIN(OrderNumber) first FROM Order",
        )
    ).json()["records"]
    assert (row["n"], row["accounts"], row["first"]) == (3, 2, "00000100")
    assert row["average"] == pytest.approx(35.35 / 3)


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Name, COUNT(Id) FROM Account", "MALFORMED_QUERY"),
        ("SELECT SUM(Name) FROM Account", "INVALID_FIELD"),
        ("SELECT SUM() FROM Account", "MALFORMED_QUERY"),
        ("SELECT Name FROM Account ORDER BY COUNT(Id)", "MALFORMED_QUERY"),
    ],
)
async def test_bad_aggregates_are_refused(http: httpx.AsyncClient, soql: str, code: str) -> None:
    """Ungrouped fields, sums of text and misplaced aggregates are refused."""
    await _create(http, "Account", {"Name": "Acme"})
    response = await _query(http, soql)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


async def test_having_filters_groups(http: httpx.AsyncClient) -> None:
    """HAVING keeps only the groups whose aggregates satisfy it."""
    accounts = await _orders_with_totals(http)
    rows = (
        await _query(
            http,
            "SELECT AccountId FROM Order GROUP BY AccountId "
            "HAVING COUNT(Id) > 1 AND SUM(TotalAmount) >= 30.30",
        )
    ).json()["records"]
    assert rows == [{"attributes": {"type": "AggregateResult"}, "AccountId": accounts["Acme"]}]
    assert (await _query(http, "SELECT Name FROM Account WHERE COUNT(Id) > 1")).status_code == 400


async def test_semi_and_anti_joins(http: httpx.AsyncClient) -> None:
    """IN (SELECT ...) and NOT IN (SELECT ...) filter on ids another query returns."""
    await _orders_with_totals(http)
    lonely = await _create(http, "Account", {"Name": "Lonely"})
    await _create(http, "Contact", {"LastName": "Lovelace", "AccountId": lonely})
    with_orders = await _names(
        http,
        "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Order) ORDER BY Name",
    )
    without_orders = await _names(
        http, "SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Order)"
    )
    big_spenders = await _names(
        http,
        "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Order WHERE TotalAmount > 15)",
    )
    assert (with_orders, without_orders, big_spenders) == (["Acme", "Beta"], ["Lonely"], ["Acme"])
    refused = await _query(http, "SELECT Id FROM Account WHERE Name IN (SELECT Name FROM Contact)")
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD"
