"""A replay cache: identifiers (DPoP proof and client assertion jti) seen until they expire.

:class:`ReplayCache` lives in memory, so it protects one process. :class:`RedisReplayCache`
keeps the identifiers in Redis, so that every replica pointing at it refuses a replay seen by
another (``LEDGERBRIDGE_REDIS_URL``; see docs/security.md).
"""

from __future__ import annotations

import heapq
import math
import time

import redis
import structlog

from ledgerbridge.runtime.security.keys import Clock

log = structlog.get_logger("ledgerbridge.security")


class ReplayCache:
    """Remember each identifier until its expiry; a second use before then is a replay."""

    def __init__(self, *, clock: Clock = time.time, max_entries: int = 1_000_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._until: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []

    def first_use(self, identifier: str, *, until: float) -> bool:
        """True the first time ``identifier`` is offered; False for any use before ``until``."""
        now = self._clock()
        while self._expiries and self._expiries[0][0] <= now:
            expiry, old = heapq.heappop(self._expiries)
            if self._until.get(old) == expiry:
                del self._until[old]
        if identifier in self._until:
            return False
        if len(self._until) >= self._max:
            # Refusing is safer than forgetting: a full cache would otherwise let replays in.
            return False
        self._until[identifier] = until
        heapq.heappush(self._expiries, (until, identifier))
        return True


class RedisReplayCache(ReplayCache):
    """The same cache in Redis, shared by every process that points at it: a proof replayed
    to another replica within its lifetime is refused there too.

    Each identifier is one key set only if absent (``SET NX``) and expiring at ``until``.
    Calls are synchronous, one round trip each, with a short timeout; when Redis cannot be
    reached the identifier is refused, as a full cache refuses.

    Usage::

        cache = RedisReplayCache(redis.Redis.from_url("redis://127.0.0.1:6379/0"))
    """

    def __init__(
        self, client: redis.Redis, *, prefix: str = "ledgerbridge:jti:", clock: Clock = time.time
    ) -> None:
        super().__init__(clock=clock)
        self._redis = client
        self._prefix = prefix

    def first_use(self, identifier: str, *, until: float) -> bool:
        """True the first time any process offers ``identifier``; False for any later use
        before ``until``, or when Redis cannot say."""
        lifetime_ms = max(1, math.ceil((until - self._clock()) * 1000))
        try:
            stored = self._redis.set(self._prefix + identifier, b"1", nx=True, px=lifetime_ms)
        except redis.RedisError as exc:
            log.warning("replay cache unreachable; identifier refused", error=str(exc))
            return False
        return bool(stored)
