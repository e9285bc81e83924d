"""The store: Alembic migrations and the crosswalk, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

import ledgerbridge.runtime.store as store_package
from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.store import Store, find_link, link


def _script_heads() -> set[str]:
    config = Config()
    config.set_main_option(
        "script_location", str(Path(store_package.__file__).with_name("migrations"))
    )
    return set(ScriptDirectory.from_config(config).get_heads())


async def test_upgrade_creates_the_schema_and_is_repeatable(store: Store) -> None:
    """Upgrading twice leaves the schema at every head with every table present."""
    await store.upgrade()
    async with store.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        rows = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
        versions = set(rows.scalars())
    assert {"crosswalk", "o2c_case", "o2c_step"} <= tables
    assert versions == _script_heads()


async def test_crosswalk_links_crm_and_erp_ids_under_one_canonical_id(store: Store) -> None:
    """A link made on first sight gains its ERP id later and keeps its canonical id."""
    async with store.engine.begin() as conn:
        first = await link(conn, "party", crm_id="001000000000001AAA")
        assert first.erp_id is None
        second = await link(conn, "party", crm_id="001000000000001AAA", erp_id="1000001")
    async with store.engine.connect() as conn:
        by_erp = await find_link(conn, "party", erp_id="1000001")
    assert second.canonical_id == first.canonical_id
    assert by_erp == second


async def test_crosswalk_refuses_to_repoint_a_link(store: Store) -> None:
    """A CRM record already linked to one ERP record cannot be linked to another."""
    async with store.engine.begin() as conn:
        await link(conn, "party", crm_id="001000000000002AAA", erp_id="1000002")
    async with store.engine.begin() as conn:
        with pytest.raises(LedgerbridgeError, match="already linked"):
            await link(conn, "party", crm_id="001000000000002AAA", erp_id="1000003")


async def test_crosswalk_keeps_one_row_per_erp_id(store: Store) -> None:
    """Two CRM records cannot claim the same ERP record of one entity."""
    async with store.engine.begin() as conn:
        await link(conn, "party", crm_id="001000000000003AAA", erp_id="1000004")
    with pytest.raises(LedgerbridgeError, match="another CRM id"):
        async with store.engine.begin() as conn:
            await link(conn, "party", crm_id="001000000000004AAA", erp_id="1000004")


async def test_concurrent_links_of_one_record_agree(store: Store) -> None:
    """Twenty concurrent links of one CRM record all succeed and name the same canonical id."""

    async def link_once() -> str:
        async with store.engine.begin() as conn:
            entry = await link(conn, "order", crm_id="801000000000009AAA", erp_id="42")
        return entry.canonical_id

    ids = await asyncio.gather(*(link_once() for _ in range(20)))
    assert len(set(ids)) == 1
