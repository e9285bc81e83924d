"""Fixtures for the CRM contract tests: a fresh sandbox, a raw HTTP client and the connector."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.sandboxes.crm import create_app

BASE_URL = "http://crm.sandbox.test"
DATA = "/services/data/v59.0"


@pytest.fixture
def crm_app() -> FastAPI:
    """A sandbox with an empty in-memory org."""
    return create_app()


@pytest.fixture
async def http(crm_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client to the sandbox, logged in with client credentials."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=crm_app), base_url=BASE_URL
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
        yield client


@pytest.fixture
async def salesforce(crm_app: FastAPI) -> AsyncIterator[SalesforceClient]:
    """The connector, talking to the sandbox through ASGI."""
    async with SalesforceClient(
        base_url=BASE_URL,
        client_id="ledgerbridge",
        client_secret="sandbox-secret",
        transport=httpx.ASGITransport(app=crm_app),
    ) as client:
        yield client
