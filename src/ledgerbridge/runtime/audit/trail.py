"""The audit trail: an append-only, hash-chained record of what was done, by whom.

Each entry stores the SHA-256 of its own content and of the entry before it, so that an
altered, removed or reordered entry breaks the chain at the first place it was touched.
The database refuses updates and deletes of entries (triggers of migration 0040); the chain
catches whoever goes around that. Removing the newest entries leaves a shorter but intact
chain: compare :meth:`AuditTrail.head` with a copy kept elsewhere to catch that too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ledgerbridge.runtime.audit.masking import mask_personal
from ledgerbridge.runtime.context import correlation_id_var
from ledgerbridge.runtime.store import Store
from ledgerbridge.runtime.store.schema import metadata

GENESIS = "0" * 64
_BATCH = 1000
_ATTEMPTS = 5

audit_entry = sa.Table(
    "audit_entry",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    # Text, not a timestamp type: the hash covers exactly the string stored, on every database.
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("subject", sa.String(256)),
    sa.Column("target", sa.String(512)),
    sa.Column("correlation_id", sa.String(128)),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the trail, as stored."""

    seq: int
    at: str
    action: str
    actor: str
    subject: str | None
    target: str | None
    correlation_id: str | None
    detail: str
    prev_hash: str
    hash: str

    def content_hash(self) -> str:
        """The hash this entry must carry: over its content and its predecessor's hash."""
        return entry_hash(
            seq=self.seq,
            at=self.at,
            action=self.action,
            actor=self.actor,
            subject=self.subject,
            target=self.target,
            correlation_id=self.correlation_id,
            detail=self.detail,
            prev_hash=self.prev_hash,
        )


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The newest entry's number and hash: worth keeping outside the database."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :meth:`AuditTrail.verify` found: ``first_bad`` names the first broken entry."""

    ok: bool
    checked: int
    head: ChainHead | None
    first_bad: int | None = None
    reason: str | None = None


def entry_hash(**fields: Any) -> str:
    """SHA-256 over the canonical JSON of an entry's fields (sorted keys, no spaces)."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditTrail:
    """Append to and verify the audit trail kept in the store.

    Usage::

        trail = AuditTrail(store)
        await trail.record("order.submitted", actor="partner-7", target="order/O-1",
                           detail={"lines": 3})
        verdict = await trail.verify()
    """

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.store = store
        self.clock = clock
        # Appends from one process queue here rather than racing for the same sequence number.
        self._lock = asyncio.Lock()

    async def record(
        self,
        action: str,
        *,
        actor: str,
        subject: str | None = None,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry; personal data in ``detail`` is masked first.

        Args:
            action: What happened, dotted: ``token.issued``, ``order.submitted``.
            actor: Who did it: a client id, an operator, a worker.
            subject: On whose behalf (the end user), when not the actor.
            target: What it was done to: ``order/O-1``, an audience, a dead letter id.
            detail: Anything else worth keeping, as JSON.

        Returns:
            The stored entry.
        """
        body = json.dumps(
            mask_personal(dict(detail or {})), sort_keys=True, separators=(",", ":"), default=str
        )
        async with self._lock:
            for attempt in range(_ATTEMPTS):
                try:
                    return await self._append(action, actor, subject, target, body)
                except IntegrityError:
                    # Another process took this sequence number; chain onto its entry instead.
                    if attempt == _ATTEMPTS - 1:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _append(
        self, action: str, actor: str, subject: str | None, target: str | None, detail: str
    ) -> AuditEntry:
        async with self.store.engine.begin() as conn:
            last = (
                await conn.execute(
                    sa.select(audit_entry.c.seq, audit_entry.c.hash)
                    .order_by(audit_entry.c.seq.desc())
                    .limit(1)
                )
            ).first()
            seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
            fields: dict[str, Any] = {
                "seq": seq,
                "at": self.clock().astimezone(UTC).isoformat(timespec="microseconds"),
                "action": action,
                "actor": actor,
                "subject": subject,
                "target": target,
                "correlation_id": correlation_id_var.get(),
                "detail": detail,
                "prev_hash": prev,
            }
            entry = AuditEntry(**fields, hash=entry_hash(**fields))
            await conn.execute(sa.insert(audit_entry).values(**fields, hash=entry.hash))
        return entry

    async def entries(self, *, after: int = 0, limit: int = _BATCH) -> list[AuditEntry]:
        """Entries in order, those with a number above ``after``."""
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(audit_entry)
                .where(audit_entry.c.seq > after)
                .order_by(audit_entry.c.seq)
                .limit(limit)
            )
            return [AuditEntry(**row._mapping) for row in rows]

    async def head(self) -> ChainHead | None:
        """The newest entry's number and hash, or None for an empty trail."""
        async with self.store.engine.connect() as conn:
            last = (
                await conn.execute(
                    sa.select(audit_entry.c.seq, audit_entry.c.hash)
                    .order_by(audit_entry.c.seq.desc())
                    .limit(1)
                )
            ).first()
        return ChainHead(last.seq, last.hash) if last else None

    async def verify(self, *, anchor: ChainHead | None = None) -> Verdict:
        """Walk the whole chain; name the first entry that was altered, removed or reordered.

        Args:
            anchor: A head recorded earlier; the chain must still contain it unchanged.
        """
        expected_seq, prev_hash, checked = 1, GENESIS, 0
        head: ChainHead | None = None
        anchor_seen = anchor is None
        while batch := await self.entries(after=expected_seq - 1):
            for entry in batch:
                if entry.seq != expected_seq:
                    return Verdict(
                        False, checked, head, expected_seq, f"entry {expected_seq} is missing"
                    )
                if entry.content_hash() != entry.hash:
                    return Verdict(
                        False, checked, head, entry.seq, f"entry {entry.seq} was altered"
                    )
                if entry.prev_hash != prev_hash:
                    return Verdict(
                        False,
                        checked,
                        head,
                        entry.seq,
                        f"entry {entry.seq} does not follow entry {entry.seq - 1}"
                        " (reordered, or its predecessor replaced)",
                    )
                if anchor is not None and entry.seq == anchor.seq:
                    if entry.hash != anchor.hash:
                        return Verdict(
                            False, checked, head, entry.seq, f"entry {entry.seq} is not the anchor"
                        )
                    anchor_seen = True
                checked += 1
                prev_hash, head = entry.hash, ChainHead(entry.seq, entry.hash)
                expected_seq += 1
        if not anchor_seen:
            assert anchor is not None
            return Verdict(
                False, checked, head, expected_seq, f"entries from {expected_seq} were removed"
            )
        return Verdict(True, checked, head)
