"""One asyncio lock per key, so that check-then-create on a backend runs once per key at a time.

Backends without a unique external key (an S/4 business partner by its external id, a sales
order by its external document id) can only be upserted by "query, then create if missing".
Within one process, holding the key's lock around both calls makes that pair atomic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class KeyedLock:
    """Usage::

    locks = KeyedLock()
    async with locks.hold(crm_id):
        ...  # query, then create if missing
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of ``key``; other holders of the same key wait, other keys do not."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # forget idle keys so the table does not grow forever
                del self._users[key], self._locks[key]
