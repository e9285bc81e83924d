"""The CRM change subscription resumes after a crash or restart: nothing lost, nothing twice."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.connectors.salesforce import ChangeEvent, ChangeSubscription, SalesforceClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.store import Store
from ledgerbridge.sandboxes.crm import create_app as create_crm

# What the handler does with an event, kept in a table of the test's own.
_seen = sa.Table(
    "seen_change",
    sa.MetaData(),
    sa.Column("replay_id", sa.BigInteger(), primary_key=True),
    sa.Column("record_id", sa.String(18), nullable=False),
)


class Crash(Exception):
    """The handler dies halfway through an event."""


@pytest.fixture
async def crm(tmp_path: Path) -> AsyncIterator[SalesforceClient]:
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(serving(create_crm(database=str(tmp_path / "c.db"))))
        client = SalesforceClient(
            base_url=url, client_id="ledgerbridge", client_secret="sandbox-secret"
        )
        stack.push_async_callback(client.aclose)
        yield client


async def _effects(store: Store) -> list[int]:
    async with store.engine.connect() as conn:
        return list(
            (await conn.execute(sa.select(_seen.c.replay_id).order_by(_seen.c.replay_id))).scalars()
        )


async def test_restart_loses_and_repeats_nothing(crm: SalesforceClient, store: Store) -> None:
    """Events handled before a crash stay handled once; the rest arrive after the restart."""
    async with store.engine.begin() as conn:
        await conn.run_sync(_seen.metadata.create_all)
    ids = [await crm.create("Account", {"Name": f"Account {n}"}) for n in range(6)]
    crash_on = ids[3]

    async def record(conn: AsyncConnection, event: ChangeEvent) -> None:
        await conn.execute(
            _seen.insert().values(replay_id=event.replay_id, record_id=event.record_ids[0])
        )
        if event.record_ids[0] == crash_on:
            raise Crash  # after writing: the transaction must roll the write back

    subscription = ChangeSubscription(crm, store.engine, consumer="test", handler=record)
    with pytest.raises(Crash):
        await subscription.run(follow=False)
    assert len(await _effects(store)) == 3

    crash_on = ""
    restarted = ChangeSubscription(crm, store.engine, consumer="test", handler=record)
    assert await restarted.run(follow=False) == 3
    await crm.update("Account", ids[0], {"Name": "Renamed"})
    assert await restarted.run(follow=False) == 1

    effects = await _effects(store)
    assert len(effects) == len(set(effects)) == 7
    assert effects == sorted(effects)


async def test_each_consumer_keeps_its_own_place(crm: SalesforceClient, store: Store) -> None:
    """Two consumers of one stream each see every event once."""
    await crm.create("Account", {"Name": "Only one"})
    counts = []
    for consumer in ("a", "b", "a"):

        async def ignore(conn: AsyncConnection, event: ChangeEvent) -> None:
            del conn, event

        subscription = ChangeSubscription(crm, store.engine, consumer=consumer, handler=ignore)
        counts.append(await subscription.run(follow=False))
    assert counts == [1, 1, 0]
