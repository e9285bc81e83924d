"""Limits on what one caller may ask of an API: request rate, body size, and velocity rules.

The guard applies the rate and body limits to every request from outside the house (the
house's own hops are not throttled), keyed by client and user per API. The buckets live in
the process (:class:`TokenBuckets`) or, shared by every replica, in Redis
(:class:`RedisTokenBuckets`, when ``LEDGERBRIDGE_REDIS_URL`` is set). Refusals are
problem+json: 429 with ``Retry-After``, 413 for a body too large. Answers carry the IETF
``RateLimit-Policy`` and ``RateLimit`` headers (draft-ietf-httpapi-ratelimit-headers)::

    RateLimit-Policy: "api";q=100;w=5
    RateLimit: "api";r=57;t=1

A velocity rule guards one business flow (partner order submission, say) as a route
dependency, with its own budget per caller: :func:`velocity_rule`.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis
import structlog
from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from ledgerbridge.runtime.problems import problem_response
from ledgerbridge.runtime.security.keys import Clock
from ledgerbridge.runtime.security.tokens import AccessToken

log = structlog.get_logger("ledgerbridge.security")
# Buckets of callers not seen for a while are forgotten first; this many are kept at most.
_MAX_BUCKETS = 50_000


@dataclass(frozen=True, slots=True)
class Decision:
    """What a bucket says of one request: allowed or not, what remains, when it refills."""

    allowed: bool
    remaining: int
    retry_after: int


class TokenBuckets:
    """A token bucket per key: ``burst`` requests at once, refilled at ``rate`` a second.

    Usage::

        buckets = TokenBuckets(burst=100, rate=20.0)
        if not buckets.take(("crm-orders", "partner-7")).allowed: ...
    """

    def __init__(self, *, burst: int, rate: float, clock: Clock = time.monotonic) -> None:
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self._buckets: OrderedDict[object, tuple[float, float]] = OrderedDict()

    @property
    def window(self) -> int:
        """Seconds for an empty bucket to fill again: the policy's window."""
        return max(1, math.ceil(self.burst / self.rate))

    def take(self, key: object) -> Decision:
        """Spend one request of ``key``'s bucket, if it has one left."""
        now = self.clock()
        level, at = self._buckets.pop(key, (float(self.burst), now))
        level = min(float(self.burst), level + (now - at) * self.rate)
        allowed = level >= 1.0
        if allowed:
            level -= 1.0
        self._buckets[key] = (level, now)
        if len(self._buckets) > _MAX_BUCKETS:
            self._buckets.popitem(last=False)
        wait = 0 if allowed else math.ceil((1.0 - level) / self.rate)
        return Decision(allowed, int(level), wait)

    def headers(self, name: str, decision: Decision) -> dict[str, str]:
        """The ``RateLimit-Policy`` and ``RateLimit`` headers of ``decision``."""
        refill = math.ceil((self.burst - decision.remaining) / self.rate)
        return {
            "RateLimit-Policy": f'"{name}";q={self.burst};w={self.window}',
            "RateLimit": f'"{name}";r={decision.remaining};t={refill}',
        }


# One bucket, refilled and spent atomically on the Redis server's own clock, so that every
# process sees one budget whatever its clock says. Floats travel as text: Lua's numbers
# would come back truncated to integers.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level, at = tonumber(state[1]), tonumber(state[2])
if level == nil then level, at = burst, now end
level = math.min(burst, level + math.max(0, now - at) * rate)
local allowed = 0
if level >= 1 then level, allowed = level - 1, 1 end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(level)}
"""


class RedisTokenBuckets(TokenBuckets):
    """The same buckets in Redis, shared by every process that points at it: callers get one
    budget per API however many replicas serve it.

    Each bucket is a hash updated by one Lua script (atomic), expiring once it would be full
    again. Calls are synchronous, one round trip each, with a short timeout; when Redis
    cannot be reached the request is let through (and logged): an outage of the counter
    store does not take the APIs down.

    Usage::

        buckets = RedisTokenBuckets(redis.Redis.from_url(url), burst=100, rate=20.0)
    """

    def __init__(
        self, client: redis.Redis, *, burst: int, rate: float, prefix: str = "ledgerbridge:rate:"
    ) -> None:
        super().__init__(burst=burst, rate=rate)
        self._prefix = prefix
        self._take = client.register_script(_TAKE)

    def take(self, key: object) -> Decision:
        """Spend one request of ``key``'s bucket, shared with every other process."""
        name = self._prefix + json.dumps(key, default=str, separators=(",", ":"))
        try:
            allowed, text = self._take(keys=[name], args=[self.burst, repr(self.rate)])
        except redis.RedisError as exc:
            log.warning("rate-limit store unreachable; request let through", error=str(exc))
            return Decision(allowed=True, remaining=self.burst - 1, retry_after=0)
        level = float(text)
        wait = 0 if allowed else math.ceil((1.0 - level) / self.rate)
        return Decision(bool(allowed), int(level), wait)


def caller_key(token: AccessToken) -> tuple[str, str]:
    """Whose budget a request spends: the client, and the user it acts for."""
    return (str(token.claims.get("client_id", "")), token.subject)


async def too_many(scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
    """Answer 429 problem+json with the rate-limit headers."""
    response = problem_response(
        429,
        title="Too Many Requests",
        detail="this client has used its request budget for this API; retry later",
        kind="rate-limited",
        instance=scope["path"],
        headers=headers,
    )
    await response(scope, receive, send)


def declared_length(scope: Scope) -> int | None:
    """The Content-Length of a request, or None when it sends none (or a bad one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_within(receive: Receive, limit: int) -> Receive | None:
    """A body sent without Content-Length (chunked), read whole while it stays within
    ``limit``: a ``receive`` replaying it, or None once it grows larger."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None
        if not message.get("more_body", False):
            break
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    return replay


async def too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """Answer 413 problem+json."""
    response = problem_response(
        413,
        title="Content Too Large",
        detail=f"the request body is larger than {limit} bytes",
        kind="content-too-large",
        instance=scope["path"],
    )
    await response(scope, receive, send)


class SlidingWindows:
    """At most ``limit`` events per key in any ``seconds``-long window (a sliding log), the
    exact form a business rule such as "30 orders a minute" takes."""

    def __init__(self, *, limit: int, seconds: float, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._events: OrderedDict[object, deque[float]] = OrderedDict()

    def take(self, key: object) -> Decision:
        """Count one event of ``key`` if its window has room."""
        now = self.clock()
        events = self._events.pop(key, None) or deque()
        while events and events[0] <= now - self.seconds:
            events.popleft()
        allowed = len(events) < self.limit
        if allowed:
            events.append(now)
        self._events[key] = events
        if len(self._events) > _MAX_BUCKETS:
            self._events.popitem(last=False)
        wait = 0 if allowed else math.ceil(events[0] + self.seconds - now)
        return Decision(allowed, self.limit - len(events), max(wait, 0 if allowed else 1))

    def headers(self, name: str, decision: Decision) -> dict[str, str]:
        """The ``RateLimit-Policy`` and ``RateLimit`` headers of ``decision``."""
        return {
            "RateLimit-Policy": f'"{name}";q={self.limit};w={math.ceil(self.seconds)}',
            "RateLimit": f'"{name}";r={decision.remaining};t={decision.retry_after}',
        }


def _caller(request: Request) -> object:
    token = getattr(request.state, "access_token", None)
    if isinstance(token, AccessToken):
        return caller_key(token)
    return request.client.host if request.client else "unknown"


def velocity_rule(
    name: str,
    *,
    limit: int,
    per_seconds: float,
    key: Callable[[Request], object] = _caller,
    clock: Clock = time.monotonic,
) -> Callable[[Request], Awaitable[None]]:
    """A route dependency allowing each caller ``limit`` uses of a flow in any ``per_seconds``.

    Past the budget the route answers 429 with ``Retry-After``.

    Args:
        name: The rule, as the ``RateLimit-Policy`` header names it.
        limit: Uses allowed in any window.
        per_seconds: The window, in seconds.
        key: Whose budget a request spends; by default the token's client and user, or
            with authentication off the address the request came from.
        clock: Monotonic seconds; tests pass their own.
    """
    windows = SlidingWindows(limit=limit, seconds=per_seconds, clock=clock)

    async def check(request: Request) -> None:
        decision = windows.take(key(request))
        if not decision.allowed:
            headers = windows.headers(name, decision)
            headers["Retry-After"] = str(decision.retry_after)
            raise HTTPException(429, f"at most {limit} of these per {per_seconds:g} s", headers)

    return check
