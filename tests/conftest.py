"""Fixtures shared by every tier: databases on SQLite and on the PostgreSQL server."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from ledgerbridge.runtime.store import Store

PG_HOST = os.environ.get("LEDGERBRIDGE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LEDGERBRIDGE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("LEDGERBRIDGE_TEST_PG_USER", "postgres")


def _postgres_listening() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards; skips when no server listens."""
    if not _postgres_listening():
        pytest.skip(f"needs PostgreSQL at {PG_HOST}:{PG_PORT}; none is listening there")
    name = f"ledgerbridge_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database for one test: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'ledgerbridge.sqlite3'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store on each database of ``database_url``."""
    store = Store(database_url)
    await store.upgrade()
    yield store
    await store.dispose()
