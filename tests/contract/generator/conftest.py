"""Fixtures for the generator tests: sandboxes over seeded database files, and clients to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

DATA = "/services/data/v59.0"
ODATA = "/sap/opu/odata/sap"
ERP_USER = ("LEDGERBRIDGE", "sandbox-secret")


async def crm_client(app: Any, base_url: str = "http://crm.test") -> httpx.AsyncClient:
    """A client logged in to a CRM sandbox app (client credentials)."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
    token = await client.post(
        "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ledgerbridge",
            "client_secret": "sandbox-secret",
        },
    )
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return client


def erp_client(app: Any) -> httpx.AsyncClient:
    """An authenticated JSON client to an ERP sandbox app."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://erp.test",
        auth=ERP_USER,
        headers={"Accept": "application/json"},
    )


async def soql_all(client: httpx.AsyncClient, soql: str) -> list[dict[str, Any]]:
    """Every record a SOQL query returns, following nextRecordsUrl."""
    response = await client.get(f"{DATA}/query", params={"q": soql})
    response.raise_for_status()
    body = response.json()
    records: list[dict[str, Any]] = body["records"]
    while not body["done"]:
        body = (await client.get(body["nextRecordsUrl"])).json()
        records += body["records"]
    return records


async def odata_all(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """Every entity of an OData collection, following __next."""
    response = await client.get(f"{ODATA}/{path}")
    response.raise_for_status()
    body = response.json()["d"]
    rows: list[dict[str, Any]] = body["results"]
    while body.get("__next"):
        body = (await client.get(body["__next"])).json()["d"]
        rows += body["results"]
    return rows


@pytest.fixture
def databases(tmp_path: Path) -> tuple[Path, Path]:
    """Paths for a fresh CRM and a fresh ERP database."""
    return tmp_path / "crm.sqlite3", tmp_path / "erp.sqlite3"


@pytest.fixture
async def clients(
    databases: tuple[Path, Path],
) -> AsyncIterator[Callable[[], Awaitable[tuple[httpx.AsyncClient, httpx.AsyncClient]]]]:
    """Clients to both sandboxes over the `databases` files, opened once they are seeded."""
    opened: list[httpx.AsyncClient] = []

    async def open_both() -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        crm_db, erp_db = databases
        crm = await crm_client(create_crm(database=str(crm_db)))
        erp = erp_client(create_erp(database=str(erp_db)))
        opened.extend((crm, erp))
        return crm, erp

    yield open_both
    for client in opened:
        await client.aclose()
