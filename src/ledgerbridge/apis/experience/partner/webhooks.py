"""Signed webhooks, delivered at least once with retries.

Each event has an id that stays the same across redeliveries, so a partner drops repeats.
The signature is an HMAC-SHA256, keyed by the partner's signing secret, over the timestamp
and the exact body::

    Webhook-Id: 7f9c...
    Webhook-Timestamp: 1795000000
    Webhook-Signature: v1=<hex of HMAC-SHA256(secret, f"{timestamp}.{body}")>

A partner recomputes it and rejects a stale timestamp (replays). Delivery retries transport
errors, 429 and 5xx with exponential back-off; another 4xx is the partner refusing the event
and is not retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

SIGNATURE_HEADER = "Webhook-Signature"
log = structlog.get_logger("ledgerbridge.partner.webhooks")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Webhook-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


@dataclass
class Attempt:
    """One try at delivering an event."""

    at: datetime
    status_code: int | None
    error: str | None


@dataclass
class Delivery:
    """One event for one partner and every try at delivering it."""

    event_id: str
    event: str
    url: str
    payload: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    delivered: bool = False


def _retryable(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


async def deliver(
    http: httpx.AsyncClient,
    delivery: Delivery,
    *,
    secret: str,
    max_attempts: int = 6,
    first_wait: float = 2.0,
) -> Delivery:
    """Send ``delivery`` until the partner takes it (2xx), refuses it (4xx), or tries run out.

    Every try is recorded on ``delivery``; the body and the event id stay the same across
    tries, the timestamp and signature are fresh each time.
    """
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    wait = first_wait
    for number in range(1, max_attempts + 1):
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Webhook-Id": delivery.event_id,
            "Webhook-Timestamp": str(timestamp),
            SIGNATURE_HEADER: signature(secret, timestamp, body),
        }
        status_code: int | None = None
        error: str | None = None
        try:
            answer = await http.post(delivery.url, content=body, headers=headers)
            status_code = answer.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivery.attempts.append(
            Attempt(at=datetime.now(UTC), status_code=status_code, error=error)
        )
        if status_code is not None and 200 <= status_code < 300:
            delivery.delivered = True
            return delivery
        if status_code is not None and not _retryable(status_code):
            break
        if number < max_attempts:
            await asyncio.sleep(wait)
            wait *= 2
    log.warning(
        "webhook not delivered",
        event_id=delivery.event_id,
        url=delivery.url,
        attempts=len(delivery.attempts),
    )
    return delivery
