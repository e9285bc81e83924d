"""Business events in SAP's naming, kept in an outbox and delivered at least once.

Each event is written in the same transaction as the change it reports. Subscribers
either register a webhook (the sandbox POSTs each event as a CloudEvent and retries with
backoff until it gets a 2xx) or read the stream with a cursor (`after=<sequence>`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import httpx

from ledgerbridge.sandboxes.erp.store import Store

SOURCE = "/default/sap.s4.beh/LBS"

BUSINESS_PARTNER_CREATED = "sap.s4.beh.businesspartner.v1.BusinessPartner.Created.v1"
BUSINESS_PARTNER_CHANGED = "sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1"
PRODUCT_CREATED = "sap.s4.beh.product.v1.Product.Created.v1"
PRODUCT_CHANGED = "sap.s4.beh.product.v1.Product.Changed.v1"
SALES_ORDER_CREATED = "sap.s4.beh.salesorder.v1.SalesOrder.Created.v1"
SALES_ORDER_CHANGED = "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1"
SALES_ORDER_DELETED = "sap.s4.beh.salesorder.v1.SalesOrder.Deleted.v1"
OUTBOUND_DELIVERY_CREATED = "sap.s4.beh.outbounddelivery.v1.OutboundDelivery.Created.v1"
BILLING_DOCUMENT_CREATED = "sap.s4.beh.billingdocument.v1.BillingDocument.Created.v1"
BILLING_DOCUMENT_CANCELED = "sap.s4.beh.billingdocument.v1.BillingDocument.Canceled.v1"
JOURNAL_ENTRY_CREATED = "sap.s4.beh.journalentry.v1.JournalEntry.Created.v1"
CREDIT_ACCOUNT_CHANGED = "sap.s4.beh.creditmanagementaccount.v1.CreditManagementAccount.Changed.v1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    time TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subscription (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    types TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS delivery (
    subscription_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,
    last_error TEXT,
    PRIMARY KEY (subscription_id, seq)
);
"""

_MAX_BACKOFF = timedelta(seconds=60)


def _cloud_event(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, event_id, event_type, time, data = row
    return {
        "specversion": "1.0",
        "id": event_id,
        "type": event_type,
        "source": SOURCE,
        "time": time,
        "datacontenttype": "application/json",
        "sequence": str(seq),
        "data": json.loads(data),
    }


class EventLog:
    """The outbox of business events, subscriptions and pending webhook deliveries."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        for statement in filter(str.strip, _SCHEMA.split(";")):
            store.execute(statement)

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Record an event (inside the caller's transaction) and queue it per subscriber."""
        now = self._clock()
        payload = {**data, "EventRaisedDateTime": now.isoformat().replace("+00:00", "Z")}
        self._store.execute(
            "INSERT INTO event (id, type, time, data) VALUES (?, ?, ?, ?)",
            (str(uuid.uuid4()), event_type, now.isoformat(), json.dumps(payload)),
        )
        seq = self._store.execute("SELECT last_insert_rowid()")[0][0]
        for sub_id, _, types in self._store.execute("SELECT id, url, types FROM subscription"):
            if _matches(event_type, json.loads(types)):
                self._store.execute(
                    "INSERT INTO delivery (subscription_id, seq, next_attempt) VALUES (?, ?, ?)",
                    (sub_id, seq, now.isoformat()),
                )

    def read(self, *, after: int, limit: int, types: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Events with a sequence above `after`, oldest first, optionally by type pattern."""
        rows = self._store.execute(
            "SELECT seq, id, type, time, data FROM event WHERE seq > ? ORDER BY seq", (after,)
        )
        events = [_cloud_event(r) for r in rows if _matches(r[2], list(types))]
        return events[:limit]

    def subscribe(self, url: str, types: Sequence[str]) -> str:
        """Register a webhook for event types (fnmatch patterns; none means all)."""
        sub_id = str(uuid.uuid4())
        self._store.execute(
            "INSERT INTO subscription (id, url, types) VALUES (?, ?, ?)",
            (sub_id, url, json.dumps(list(types))),
        )
        return sub_id

    def unsubscribe(self, sub_id: str) -> bool:
        """Remove a webhook and its pending deliveries; False if unknown."""
        known = bool(self._store.execute("SELECT 1 FROM subscription WHERE id = ?", (sub_id,)))
        self._store.execute("DELETE FROM subscription WHERE id = ?", (sub_id,))
        self._store.execute("DELETE FROM delivery WHERE subscription_id = ?", (sub_id,))
        return known

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every webhook with the number of events still to deliver to it."""
        rows = self._store.execute(
            "SELECT s.id, s.url, s.types, COUNT(d.seq) FROM subscription s "
            "LEFT JOIN delivery d ON d.subscription_id = s.id GROUP BY s.id ORDER BY s.rowid"
        )
        return [{"id": r[0], "url": r[1], "types": json.loads(r[2]), "pending": r[3]} for r in rows]

    def due(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(subscription, url, event) triples whose next attempt is due, in event order."""
        rows = self._store.execute(
            "SELECT d.subscription_id, s.url, e.seq, e.id, e.type, e.time, e.data "
            "FROM delivery d JOIN subscription s ON s.id = d.subscription_id "
            "JOIN event e ON e.seq = d.seq WHERE d.next_attempt <= ? ORDER BY e.seq",
            (self._clock().isoformat(),),
        )
        return [(r[0], r[1], _cloud_event(r[2:])) for r in rows]

    def delivered(self, sub_id: str, seq: int) -> None:
        """Forget a delivery the subscriber acknowledged."""
        self._store.execute(
            "DELETE FROM delivery WHERE subscription_id = ? AND seq = ?", (sub_id, seq)
        )

    def failed(self, sub_id: str, seq: int, error: str) -> None:
        """Schedule a retry with exponential backoff (1 s, 2 s, 4 s ... at most 60 s)."""
        rows = self._store.execute(
            "SELECT attempts FROM delivery WHERE subscription_id = ? AND seq = ?", (sub_id, seq)
        )
        if not rows:  # unsubscribed while the delivery was in flight
            return
        attempts = rows[0][0]
        delay = min(timedelta(seconds=2**attempts), _MAX_BACKOFF)
        self._store.execute(
            "UPDATE delivery SET attempts = attempts + 1, next_attempt = ?, last_error = ? "
            "WHERE subscription_id = ? AND seq = ?",
            ((self._clock() + delay).isoformat(), error, sub_id, seq),
        )


def _matches(event_type: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatchcase(event_type, p) for p in patterns)


async def deliver_due(log: EventLog, client: httpx.AsyncClient) -> int:
    """POST every due event to its webhook as a structured CloudEvent; return how many landed.

    A subscriber that fails is not sent its later events in this round, so each
    subscriber sees events in order.
    """
    landed = 0
    stalled: set[str] = set()
    for sub_id, url, event in log.due():
        if sub_id in stalled:
            continue
        seq = int(event["sequence"])
        try:
            response = await client.post(
                url, json=event, headers={"Content-Type": "application/cloudevents+json"}
            )
        except httpx.HTTPError as exc:
            log.failed(sub_id, seq, repr(exc))
            stalled.add(sub_id)
            continue
        if response.is_success:
            log.delivered(sub_id, seq)
            landed += 1
        else:
            log.failed(sub_id, seq, f"HTTP {response.status_code}")
            stalled.add(sub_id)
    return landed
