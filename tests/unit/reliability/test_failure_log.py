"""The store's count of a message's failed attempts, per consumer group (`StoredFailures`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.conftest import fresh_postgres_database

from ledgerbridge.runtime.messaging import Attempt, StoredFailures
from ledgerbridge.runtime.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def failures(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoredFailures]:
    """The failure log on a fresh SQLite file, then on a fresh PostgreSQL database."""
    sqlite = contextlib.nullcontext(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    opened = fresh_postgres_database() if request.param == "postgres" else sqlite
    async with opened as url:
        store = Store(url)
        await store.upgrade()
        try:
            yield StoredFailures(store.engine)
        finally:
            await store.dispose()


def _failed(error: str) -> Attempt:
    return Attempt(number=0, error=error, error_type="BackendUnavailable")


async def test_failures_are_numbered_per_group_and_forgotten_once_handled(
    failures: StoredFailures,
) -> None:
    """Each group counts its own failures of a message, oldest first; a forgotten message
    starts again from one."""
    await failures.add("billing", "m-1", _failed("ERP timed out"))
    known = await failures.add("billing", "m-1", _failed("ERP answered 503"))
    assert [(a.number, a.error) for a in known] == [(1, "ERP timed out"), (2, "ERP answered 503")]
    assert [a.number for a in await failures.add("ledger", "m-1", _failed("x"))] == [1]

    await failures.forget("billing", "m-1")
    assert [a.number for a in await failures.add("billing", "m-1", _failed("again"))] == [1]
    assert [a.number for a in await failures.add("ledger", "m-1", _failed("y"))] == [1, 2]


async def test_failures_recorded_at_once_each_get_their_own_number(
    failures: StoredFailures,
) -> None:
    """Three processes recording a failure of one message at the same time: numbers 1 to 3."""
    recorded = await asyncio.gather(
        *(failures.add("billing", "m-2", _failed(f"worker {n}")) for n in range(3))
    )
    assert sorted(known[-1].number for known in recorded) == [1, 2, 3]
    assert [a.number for a in max(recorded, key=len)] == [1, 2, 3]
