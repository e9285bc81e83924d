"""The System layer on a CRM sandbox served over HTTP, reached through the house in-process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.bootstrap import open_house
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm


@contextlib.asynccontextmanager
async def open_system(tmp_path: Path, **crm: Any) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client to the System layer whose CRM is a fresh sandbox on a local port; its URL.

    ``crm`` adds to the sandbox's options (its daily request limit, say).
    """
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp_path / "crm.sqlite3"), **crm))
        )
        settings = Settings(salesforce={"base_url": crm_url})
        house = await stack.enter_async_context(open_house(settings, layers={Layer.SYSTEM}))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://house"
        )
        stack.push_async_callback(client.aclose)
        yield client, crm_url


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client to the System layer whose CRM is a fresh sandbox on a local port."""
    async with open_system(tmp_path) as (client, _):
        yield client
