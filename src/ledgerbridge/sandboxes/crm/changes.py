"""Change Data Capture: change events for Account, Order and OrderItem, replayable for a window.

Events are written by the store's write observer inside the writing transaction, so a rolled
back write leaves no event, and their replay ids only grow. Subscribers read them over an HTTP
stream of newline-delimited JSON (or server-sent events) from a replay id or from the tip:

    GET /services/data/v59.0/streaming/data/ChangeEvents?replayId=-1
    GET /services/data/v59.0/streaming/data/OrderChangeEvent?replayId=42&follow=false

replayId -1 starts at the tip (new events only), -2 at the oldest retained event, and N after
event N. A replay id older than the retention window is refused with INVALID_REPLAY_ID.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from ledgerbridge.sandboxes.crm import wire
from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.objects import SOBJECTS, USER_ID
from ledgerbridge.sandboxes.crm.store import Store

TRACKED = ("Account", "Order", "OrderItem")
TIP = -1
EARLIEST = -2
POLL_SECONDS = 0.05
HEARTBEAT_SECONDS = 10.0
_LEFT_OUT = {"Id", "IsDeleted", "SystemModstamp"}

change_origin: ContextVar[str] = ContextVar("change_origin", default="com/salesforce/api/rest")


def _ms(store: Store) -> int:
    return int(store.clock().timestamp() * 1000)


class ChangeLog:
    """Records change events as the store writes, and serves them back by replay id."""

    def __init__(self, store: Store, retention: timedelta) -> None:
        self.store = store
        self.retention = retention
        self._transaction = ""
        self._commit_number = 0
        self._sequence = 0
        store.observer = self

    def written(
        self, sobject: str, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        """Turn one record write into a change event (observer of the store)."""
        if sobject not in TRACKED:
            return
        fields = [
            f.name
            for f in SOBJECTS[sobject.lower()].fields
            if f.name not in _LEFT_OUT and not f.calculated
        ]
        body: dict[str, Any] = {}
        changed: list[str] = []
        if before is None and after is not None:
            kind = "CREATE"
            body = {f: after[f] for f in fields if after.get(f) is not None}
        elif after is None and before is not None:
            kind = "DELETE"
        elif before is not None and after is not None:
            kind = "UPDATE"
            changed = [f for f in fields if before.get(f) != after.get(f)]
            if not changed:
                return
            body = {f: after.get(f) for f in changed}
        else:
            return
        record = after or before or {}
        key = self.store.transaction_key
        if key != self._transaction:
            # One commit number per transaction; sequence numbers count events within it.
            self._transaction = key
            self._commit_number = self.store.next_value("commit-number")
            self._sequence = 0
        self._sequence += 1
        header = {
            "entityName": sobject,
            "recordIds": [record["Id"]],
            "changeType": kind,
            "changeOrigin": change_origin.get(),
            "transactionKey": key,
            "sequenceNumber": self._sequence,
            "commitTimestamp": _ms(self.store),
            "commitNumber": self._commit_number,
            "commitUser": USER_ID,
            "changedFields": changed,
            "nulledFields": [f for f in changed if body.get(f) is None],
            "diffFields": [],
        }
        event = {
            "schema": f"{sobject}ChangeEvent-v1",
            "payload": {"ChangeEventHeader": header, **body},
        }
        self.store.execute(
            "INSERT INTO change_events (entity, committed_at, event) VALUES (?, ?, ?)",
            (sobject, header["commitTimestamp"], wire.dumps(event)),
        )

    def _purge(self) -> None:
        horizon = _ms(self.store) - int(self.retention.total_seconds() * 1000)
        self.store.execute("DELETE FROM change_events WHERE committed_at < ?", (horizon,))

    def bounds(self) -> tuple[int, int]:
        """(oldest retained replay id, newest replay id ever); oldest > newest when none kept."""
        self._purge()
        newest = self.store.execute("SELECT seq FROM sqlite_sequence WHERE name = 'change_events'")
        latest = int(newest[0][0]) if newest else 0
        oldest = self.store.execute("SELECT MIN(replay_id) FROM change_events")[0][0]
        return (int(oldest) if oldest is not None else latest + 1), latest

    def start_after(self, replay_id: int) -> int:
        """The replay id to read after for a subscription asking for `replay_id`."""
        oldest, latest = self.bounds()
        if replay_id == TIP:
            return latest
        if replay_id == EARLIEST:
            return oldest - 1
        if replay_id < oldest - 1:
            hours = self.retention.total_seconds() / 3600
            raise SalesforceError(
                400,
                "INVALID_REPLAY_ID",
                f"The replayId {replay_id} you provided is older than the {hours:g}-hour "
                f"retention window (oldest retained: {oldest}). Provide a valid ID, -2 to "
                "replay all retained events, or -1 to receive only new events.",
            )
        if replay_id > latest or replay_id < EARLIEST:
            raise SalesforceError(
                400,
                "INVALID_REPLAY_ID",
                f"The replayId {replay_id} you provided was invalid (newest is {latest}). "
                "Provide a valid ID, -2 to replay all events, or -1 to replay only new events.",
            )
        return replay_id

    def after(
        self, replay_id: int, entities: tuple[str, ...], limit: int = 500
    ) -> list[dict[str, Any]]:
        """Events of `entities` with replay ids above `replay_id`, oldest first."""
        self._purge()
        marks = ",".join("?" * len(entities))
        rows = self.store.execute(
            f"SELECT replay_id, event FROM change_events WHERE replay_id > ? "  # noqa: S608 - placeholders only
            f"AND entity IN ({marks}) ORDER BY replay_id LIMIT ?",
            (replay_id, *entities, limit),
        )
        return [{**wire.loads(event), "event": {"replayId": rid}} for rid, event in rows]


def _entities(channel: str) -> tuple[str, ...]:
    if channel == "ChangeEvents":
        return TRACKED
    for name in TRACKED:
        if channel == f"{name}ChangeEvent":
            return (name,)
    raise SalesforceError(404, "NOT_FOUND", f"Unknown channel: /data/{channel}")


def routes(log: ChangeLog) -> APIRouter:
    """The change event stream."""
    router = APIRouter()

    @router.get("/services/data/v{version}/streaming/data/{channel}")
    async def stream(
        version: str,
        channel: str,
        request: Request,
        replayId: int = TIP,  # noqa: N803 - the name Salesforce subscriptions use
        follow: bool = True,
    ) -> Response:
        """Stream change events from a replay id; with follow=false, stop at the newest."""
        entities = _entities(channel)
        start = log.start_after(replayId)
        sse = "text/event-stream" in request.headers.get("accept", "")

        def render(event: dict[str, Any]) -> str:
            text = wire.dumps(event)
            if sse:
                return f"id: {event['event']['replayId']}\nevent: {channel}\ndata: {text}\n\n"
            return text + "\n"

        async def lines() -> AsyncIterator[str]:
            cursor, idle = start, 0.0
            while True:
                events = log.after(cursor, entities)
                for event in events:
                    cursor = event["event"]["replayId"]
                    yield render(event)
                if not follow and len(events) < 500:
                    return
                if events:
                    idle = 0.0
                    continue
                await asyncio.sleep(POLL_SECONDS)
                idle += POLL_SECONDS
                if idle >= HEARTBEAT_SECONDS:
                    idle = 0.0
                    yield ": heartbeat\n\n" if sse else "\n"

        media = "text/event-stream" if sse else "application/x-ndjson"
        return StreamingResponse(lines(), media_type=media)

    return router
