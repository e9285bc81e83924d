"""Change Data Capture: events, replay ids, retention and the event stream."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.salesforce import ChangeEvent, SalesforceClient
from ledgerbridge.sandboxes.crm import BackgroundServer, create_app

from .conftest import BASE_URL, DATA

STREAM = f"{DATA}/streaming/data"


async def _create(http: httpx.AsyncClient, sobject: str, fields: dict[str, Any]) -> str:
    response = await http.post(f"{DATA}/sobjects/{sobject}/", json=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _events(
    http: httpx.AsyncClient, channel: str = "ChangeEvents", replay_id: int = -2
) -> list[dict[str, Any]]:
    response = await http.get(
        f"{STREAM}/{channel}", params={"replayId": replay_id, "follow": "false"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def _header(event: dict[str, Any]) -> dict[str, Any]:
    header: dict[str, Any] = event["payload"]["ChangeEventHeader"]
    return header


async def test_writes_become_change_events(http: httpx.AsyncClient) -> None:
    """Create, update and delete of tracked objects yield CREATE, UPDATE and DELETE events."""
    account = await _create(http, "Account", {"Name": "Acme", "Phone": "1"})
    await http.patch(f"{DATA}/sobjects/Account/{account}", json={"Phone": None, "Website": "x.io"})
    await _create(http, "Product2", {"Name": "Untracked"})
    await http.delete(f"{DATA}/sobjects/Account/{account}")
    events = await _events(http)
    assert [(_header(e)["entityName"], _header(e)["changeType"]) for e in events] == [
        ("Account", "CREATE"),
        ("Account", "UPDATE"),
        ("Account", "DELETE"),
    ]
    created, updated, deleted = events
    assert created["payload"]["Name"] == "Acme"
    assert "IsDeleted" not in created["payload"]
    assert "SystemModstamp" not in created["payload"]
    assert _header(created)["recordIds"] == [account]
    changed = set(_header(updated)["changedFields"])
    # LastModifiedDate has millisecond precision, so it may not have moved.
    assert {"Phone", "Website"} <= changed <= {"Phone", "Website", "LastModifiedDate"}
    assert _header(updated)["nulledFields"] == ["Phone"]
    assert "Name" not in updated["payload"]
    assert set(deleted["payload"]) == {"ChangeEventHeader"}
    replay_ids = [e["event"]["replayId"] for e in events]
    assert replay_ids == sorted(replay_ids)
    assert len(set(replay_ids)) == 3


async def test_one_transaction_shares_a_key(http: httpx.AsyncClient) -> None:
    """An item and the order total it changes come as one transaction, in sequence."""
    account = await _create(http, "Account", {"Name": "Acme"})
    product = await _create(http, "Product2", {"Name": "Widget"})
    order = await _create(http, "Order", {"AccountId": account, "EffectiveDate": "2024-05-01"})
    start = (await _events(http))[-1]["event"]["replayId"]
    await _create(
        http,
        "OrderItem",
        {"OrderId": order, "Product2Id": product, "Quantity": 2, "UnitPrice": "10.05"},
    )
    item_event, order_event = await _events(http, replay_id=start)
    assert _header(item_event)["transactionKey"] == _header(order_event)["transactionKey"]
    assert (_header(item_event)["sequenceNumber"], _header(order_event)["sequenceNumber"]) == (1, 2)
    assert _header(item_event)["commitNumber"] == _header(order_event)["commitNumber"]
    assert _header(order_event)["changedFields"] == ["TotalAmount"]
    assert order_event["payload"]["TotalAmount"] == 20.1


async def test_rolled_back_writes_leave_no_event(http: httpx.AsyncClient) -> None:
    """An allOrNone composite that fails publishes nothing."""
    await http.post(
        f"{DATA}/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Acme"},
                {"attributes": {"type": "Account"}},
            ],
        },
    )
    assert await _events(http) == []


async def test_replay_from_an_id_and_channels(http: httpx.AsyncClient) -> None:
    """replayId N resumes after N; -1 starts at the tip; object channels filter."""
    account = await _create(http, "Account", {"Name": "Acme"})
    await _create(http, "Order", {"AccountId": account, "EffectiveDate": "2024-05-01"})
    first, second = await _events(http)
    assert await _events(http, replay_id=first["event"]["replayId"]) == [second]
    assert await _events(http, replay_id=-1) == []
    [order_event] = await _events(http, "OrderChangeEvent")
    assert _header(order_event)["entityName"] == "Order"


async def test_change_origin_names_the_client(http: httpx.AsyncClient) -> None:
    """changeOrigin carries the API version and the Sforce-Call-Options client."""
    await http.post(
        f"{DATA}/sobjects/Account/",
        json={"Name": "Acme"},
        headers={"Sforce-Call-Options": "client=ledgerbridge-sync"},
    )
    [event] = await _events(http)
    assert _header(event)["changeOrigin"] == "com/salesforce/api/rest/59.0;client=ledgerbridge-sync"


@pytest.mark.parametrize(
    ("channel", "replay_id", "status", "code"),
    [
        ("SpaceshipChangeEvent", -1, 404, "NOT_FOUND"),
        ("ChangeEvents", 999, 400, "INVALID_REPLAY_ID"),
        ("ChangeEvents", -3, 400, "INVALID_REPLAY_ID"),
    ],
)
async def test_bad_subscriptions_are_refused(
    http: httpx.AsyncClient, channel: str, replay_id: int, status: int, code: str
) -> None:
    """Unknown channels and replay ids beyond the newest are refused."""
    response = await http.get(f"{STREAM}/{channel}", params={"replayId": replay_id})
    assert response.status_code == status
    assert response.json()[0]["errorCode"] == code


async def test_retention_window_expires_old_events() -> None:
    """Past the retention window events are gone and replaying from them is refused."""
    now = [datetime(2025, 3, 1, 12, 0, tzinfo=UTC)]
    app: FastAPI = create_app(event_retention=timedelta(hours=72), clock=lambda: now[0])
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
        await _create(client, "Account", {"Name": "Old"})
        now[0] += timedelta(hours=71)
        await _create(client, "Account", {"Name": "Recent"})
        assert len(await _events(client)) == 2
        now[0] += timedelta(hours=2)
        [kept] = await _events(client)
        refused = await client.get(f"{STREAM}/ChangeEvents", params={"replayId": 0})
        resumed = await _events(client, replay_id=kept["event"]["replayId"] - 1)
    assert kept["payload"]["Name"] == "Recent"
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_REPLAY_ID"
    assert "72-hour retention window" in refused.json()[0]["message"]
    assert resumed == [kept]


async def test_server_sent_events_on_request(http: httpx.AsyncClient) -> None:
    """Accept: text/event-stream gets SSE framing with the replay id as the event id."""
    await _create(http, "Account", {"Name": "Acme"})
    response = await http.get(
        f"{STREAM}/AccountChangeEvent",
        params={"replayId": -2, "follow": "false"},
        headers={"Accept": "text/event-stream"},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.splitlines()
    assert lines[0].startswith("id: ")
    assert lines[1] == "event: AccountChangeEvent"
    assert json.loads(lines[2].removeprefix("data: "))["payload"]["Name"] == "Acme"


async def test_connector_reads_retained_events(salesforce: SalesforceClient) -> None:
    """change_events(follow=False) yields typed events up to the newest."""
    record_id = await salesforce.create("Account", {"Name": "Acme"})
    await salesforce.update("Account", record_id, {"Name": "Acme SA"})
    events = [e async for e in salesforce.change_events(replay_id=-2, follow=False)]
    assert [(e.entity, e.change_type) for e in events] == [
        ("Account", "CREATE"),
        ("Account", "UPDATE"),
    ]
    assert isinstance(events[1], ChangeEvent)
    assert events[1].fields["Name"] == "Acme SA"
    assert events[1].record_ids == [record_id]


@pytest.mark.slow
async def test_a_followed_stream_delivers_new_events_live() -> None:
    """Subscribed at the tip over real HTTP, a new write arrives on the open stream."""
    with BackgroundServer(create_app()) as server:
        async with SalesforceClient(
            base_url=server.url, client_id="ledgerbridge", client_secret="sandbox-secret"
        ) as salesforce:
            await salesforce.create("Account", {"Name": "Before"})
            stream = salesforce.change_events("AccountChangeEvent")
            first = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.3)
            await salesforce.create("Account", {"Name": "Live"})
            event = await asyncio.wait_for(first, timeout=5)
            await stream.aclose()
    assert event.fields["Name"] == "Live"


async def test_events_name_the_connector_as_their_origin(
    salesforce: SalesforceClient, http: httpx.AsyncClient
) -> None:
    """Changes made through the connector carry its client name; others do not."""
    await salesforce.create("Account", {"Name": "Ours"})
    await _create(http, "Account", {"Name": "Theirs"})
    events = [e async for e in salesforce.change_events(replay_id=-2, follow=False)]
    assert [(e.fields["Name"], e.origin_client) for e in events] == [
        ("Ours", "ledgerbridge"),
        ("Theirs", None),
    ]
