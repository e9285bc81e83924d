"""`ledgerbridge audit verify` and `ledgerbridge token ...` from the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ledgerbridge.cli import app
from ledgerbridge.runtime.audit import AuditTrail
from ledgerbridge.runtime.security import KeyRing
from ledgerbridge.runtime.store import Store

runner = CliRunner()


async def _fill(url: str) -> str:
    store = Store(url)
    await store.upgrade()
    trail = AuditTrail(store)
    for n in range(4):
        await trail.record("order.submitted", actor="partner-7", target=f"order/O-{n}")
    head = await trail.head()
    await store.dispose()
    assert head is not None
    return f"{head.seq}:{head.hash}"


async def _alter_second(url: str) -> None:
    store = Store(url)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DROP TRIGGER audit_entry_no_update"))
        await conn.execute(sa.text("UPDATE audit_entry SET target = 'order/X' WHERE seq = 2"))
    await store.dispose()


def test_audit_verify_passes_then_names_the_altered_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify exits 0 on an untouched trail and 1 naming entry 2 once it is altered."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.sqlite3'}"
    monkeypatch.setenv("LEDGERBRIDGE_DATABASE_URL", url)
    anchor = asyncio.run(_fill(url))
    intact = runner.invoke(app, ["audit", "verify", "--anchor", anchor])
    assert intact.exit_code == 0, intact.output
    assert "intact: 4 entries" in intact.output
    asyncio.run(_alter_second(url))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "entry 2 was altered" in broken.output
    assert "first bad entry: 2" in broken.output


def test_token_new_keys_writes_a_private_set_the_key_ring_reads(tmp_path: Path) -> None:
    """new-keys writes an owner-only JWK set from which the token service can sign."""
    path = tmp_path / "jwks.json"
    result = runner.invoke(app, ["token", "new-keys", str(path)])
    assert result.exit_code == 0, result.output
    assert path.stat().st_mode & 0o077 == 0
    ring = KeyRing.from_file(path)
    assert json.loads(path.read_text())["keys"][0]["kid"] == ring.active.kid
    assert runner.invoke(app, ["token", "new-keys", str(path)]).exit_code != 0


def test_token_hash_secret_prints_an_argon2_hash() -> None:
    """hash-secret prints an argon2id hash of the secret it is given."""
    result = runner.invoke(app, ["token", "hash-secret", "--secret", "s3cret"])
    assert result.exit_code == 0
    assert result.output.startswith("$argon2id$")
