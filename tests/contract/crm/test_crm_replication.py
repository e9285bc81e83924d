"""The replication API: records updated or deleted in a window, as polling sync reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ledgerbridge.sandboxes.crm import create_app

from .conftest import BASE_URL, DATA

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def timed() -> AsyncIterator[tuple[httpx.AsyncClient, list[datetime]]]:
    """A client to a sandbox whose clock the test moves; (client, [now])."""
    now = [T0]
    app = create_app(clock=lambda: now[0])
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
        yield client, now


async def _create(http: httpx.AsyncClient, fields: dict[str, Any]) -> str:
    response = await http.post(f"{DATA}/sobjects/Account/", json=fields)
    return str(response.json()["id"])


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat()}


async def test_updated_and_deleted_ids_in_a_window(
    timed: tuple[httpx.AsyncClient, list[datetime]],
) -> None:
    """updated lists records changed in the window; deleted lists deletions with their time."""
    http, now = timed
    early = await _create(http, {"Name": "Early"})
    now[0] = T0 + timedelta(minutes=10)
    late = await _create(http, {"Name": "Late"})
    now[0] = T0 + timedelta(minutes=20)
    await http.delete(f"{DATA}/sobjects/Account/{early}")
    now[0] = T0 + timedelta(minutes=30, seconds=40)
    updated = await http.get(
        f"{DATA}/sobjects/Account/updated/",
        params=_window(T0 + timedelta(minutes=5), T0 + timedelta(hours=1)),
    )
    deleted = await http.get(
        f"{DATA}/sobjects/Account/deleted/", params=_window(T0, T0 + timedelta(hours=1))
    )
    assert updated.json() == {"ids": [late], "latestDateCovered": "2025-03-01T12:30:00.000+0000"}
    assert deleted.json()["deletedRecords"] == [
        {"id": early, "deletedDate": "2025-03-01T12:20:00.000+0000"}
    ]
    assert deleted.json()["earliestDateAvailable"] == "2025-01-30T12:30:00.000+0000"


async def test_windows_older_than_30_days_are_refused(
    timed: tuple[httpx.AsyncClient, list[datetime]],
) -> None:
    """A start more than 30 days back gets INVALID_REPLICATION_DATE."""
    http, now = timed
    response = await http.get(
        f"{DATA}/sobjects/Account/updated/",
        params=_window(now[0] - timedelta(days=31), now[0]),
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
