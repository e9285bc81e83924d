"""The audit trail: appends chain, the database refuses edits, verify names the first bad entry."""

from __future__ import annotations

import dataclasses
import itertools
import json

import httpx
import pytest
import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.routing import Mount

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.audit import AuditTrail, ChainHead
from ledgerbridge.runtime.security import (
    ClientRecord,
    ClientRegistry,
    KeyRing,
    ResourceGuard,
    TokenIssuer,
    TokenService,
    audited,
    hash_secret,
    token_service_app,
)
from ledgerbridge.runtime.settings import AuthSettings
from ledgerbridge.runtime.store import Store

from .conftest import BASE, ISSUER, SECRET


async def _filled(store: Store, count: int = 5) -> AuditTrail:
    trail = AuditTrail(store)
    for n in range(1, count + 1):
        await trail.record(
            "order.submitted",
            actor="partner-7",
            target=f"order/O-{n}",
            detail={"lines": n, "email": "buyer@example.com"},
        )
    return trail


async def _tamper(store: Store, *statements: str) -> None:
    """Run ``statements`` as someone who switched the append-only triggers off."""
    async with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        else:
            await conn.execute(sa.text("DROP TRIGGER audit_entry_no_update"))
            await conn.execute(sa.text("DROP TRIGGER audit_entry_no_delete"))
        for statement in statements:
            await conn.execute(sa.text(statement))


class TestAppend:
    async def test_entries_chain_and_an_untouched_trail_verifies(self, store: Store) -> None:
        """Each entry carries its predecessor's hash; verify passes and reports the head."""
        trail = await _filled(store)
        entries = await trail.entries()
        assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
        assert entries[0].prev_hash == "0" * 64
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
        verdict = await trail.verify()
        assert verdict.ok
        assert verdict.checked == 5
        assert verdict.head == ChainHead(5, entries[-1].hash)

    async def test_personal_data_is_masked_in_details(self, store: Store) -> None:
        """An email in the detail is stored masked."""
        trail = await _filled(store, 1)
        (entry,) = await trail.entries()
        assert json.loads(entry.detail)["email"] == "b***@example.com"

    async def test_the_database_refuses_updates_and_deletes(self, store: Store) -> None:
        """The append-only triggers refuse an UPDATE and a DELETE."""
        await _filled(store, 2)
        for statement in (
            "UPDATE audit_entry SET actor = 'someone' WHERE seq = 1",
            "DELETE FROM audit_entry WHERE seq = 1",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with store.engine.begin() as conn:
                    await conn.execute(sa.text(statement))


class TestTampering:
    async def test_an_altered_entry_is_named(self, store: Store) -> None:
        """Changing entry 3's actor makes verify name entry 3 as altered."""
        trail = await _filled(store)
        await _tamper(store, "UPDATE audit_entry SET actor = 'operator-9' WHERE seq = 3")
        verdict = await trail.verify()
        assert not verdict.ok
        assert verdict.first_bad == 3
        assert verdict.reason == "entry 3 was altered"

    async def test_a_removed_entry_is_named(self, store: Store) -> None:
        """Deleting entry 2 makes verify name entry 2 as missing."""
        trail = await _filled(store)
        await _tamper(store, "DELETE FROM audit_entry WHERE seq = 2")
        verdict = await trail.verify()
        assert (verdict.ok, verdict.first_bad, verdict.reason) == (False, 2, "entry 2 is missing")
        assert verdict.checked == 1

    async def test_removal_renumbered_to_hide_is_still_caught(self, store: Store) -> None:
        """Deleting entry 2 and renumbering the rest breaks the chain at entry 2."""
        trail = await _filled(store)
        await _tamper(
            store,
            "DELETE FROM audit_entry WHERE seq = 2",
            "UPDATE audit_entry SET seq = seq - 1 WHERE seq > 2",
        )
        verdict = await trail.verify()
        assert not verdict.ok
        assert verdict.first_bad == 2

    async def test_reordered_entries_are_named(self, store: Store) -> None:
        """Swapping entries 3 and 4 (contents and hashes) is caught at entry 3."""
        trail = await _filled(store)
        await _tamper(
            store,
            "UPDATE audit_entry SET seq = 99 WHERE seq = 3",
            "UPDATE audit_entry SET seq = 3 WHERE seq = 4",
            "UPDATE audit_entry SET seq = 4 WHERE seq = 99",
        )
        verdict = await trail.verify()
        assert not verdict.ok
        assert verdict.first_bad == 3

    async def test_a_truncated_tail_is_caught_with_an_anchor(self, store: Store) -> None:
        """Dropping the newest entries passes a bare verify but not one against a kept head."""
        trail = await _filled(store)
        head = await trail.head()
        assert head is not None
        await _tamper(store, "DELETE FROM audit_entry WHERE seq >= 4")
        assert (await trail.verify()).ok
        verdict = await trail.verify(anchor=head)
        assert (verdict.ok, verdict.first_bad) == (False, 4)

    async def test_a_rewritten_chain_does_not_match_its_anchor(self, store: Store) -> None:
        """A chain recomputed from scratch after an edit still differs from the kept head."""
        trail = await _filled(store, 3)
        head = await trail.head()
        assert head is not None
        await _tamper(store, "DELETE FROM audit_entry")
        forged = await _filled(store, 3)
        verdict = await forged.verify(anchor=head)
        assert not verdict.ok
        assert verdict.first_bad == 3


async def test_every_issued_token_is_audited(store: Store) -> None:
    """A token from the token service leaves a token.issued entry naming client and audience."""
    trail = AuditTrail(store)
    service = dataclasses.replace(
        TokenService.from_settings(
            AuthSettings(issuer=ISSUER),
            clients=ClientRegistry(
                [
                    ClientRecord(
                        client_id="back-office",
                        secret_hash=hash_secret(SECRET),
                        scopes=frozenset({"crm-orders:read"}),
                        audiences=frozenset({"urn:ledgerbridge:crm-orders"}),
                    )
                ]
            ),
        ),
        on_issue=audited(trail),
    )
    app = Starlette(routes=[Mount("/auth", app=token_service_app(service))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        answer = await http.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "back-office",
                "client_secret": SECRET,
            },
        )
    assert answer.status_code == 200
    (entry,) = await trail.entries()
    assert (entry.action, entry.actor, entry.target) == (
        "token.issued",
        "back-office",
        "urn:ledgerbridge:crm-orders",
    )
    assert json.loads(entry.detail)["grant_type"] == "client_credentials"
    assert (await trail.verify()).ok


async def test_every_write_is_audited_refused_ones_included(store: Store) -> None:
    """Writes leave api.write entries with caller and status; a refused write names no one;
    reads leave none."""
    trail = AuditTrail(store)
    ring = KeyRing()
    guard = ResourceGuard.from_settings(AuthSettings(issuer=ISSUER), keys=ring)
    router = APIRouter()

    @router.post("/orders")
    async def submit() -> dict[str, str]:
        return {"id": "O-1"}

    @router.get("/orders")
    async def listing() -> list[str]:
        return []

    meta = ApiMetadata(
        "crm-orders", Layer.SYSTEM, 1, "crm", "Orders.", ("crm-orders:read", "crm-orders:write")
    )
    api = build_api(meta, routers=[router], guard=guard, audit=trail)
    token = (
        TokenIssuer(ISSUER, ring)
        .issue(
            subject="clerk-1",
            client_id="back-office",
            audience="urn:ledgerbridge:crm-orders",
            scopes={"crm-orders:read", "crm-orders:write"},
        )
        .token
    )
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url=BASE) as http:
        assert (await http.post("/orders", headers=bearer)).status_code == 200
        assert (await http.post("/orders")).status_code == 401
        assert (await http.get("/orders", headers=bearer)).status_code == 200
    written, refused = await trail.entries()
    assert (written.action, written.actor, written.subject) == (
        "api.write",
        "back-office",
        "clerk-1",
    )
    assert written.target == "crm-orders POST /orders"
    assert json.loads(written.detail)["status"] == 200
    assert (refused.actor, json.loads(refused.detail)["status"]) == ("anonymous", 401)
    assert (await trail.verify()).ok
