"""What the broker consumers share: name rules and in-flight tracking."""

from __future__ import annotations

import asyncio
import re

from ledgerbridge.runtime.messaging._envelope import Message

KEY_HEADER = "x-ledgerbridge-key"
_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def check_name(what: str, value: str) -> str:
    """Refuse topic and group names the brokers cannot carry (dotted words only)."""
    if not _NAME.match(value) or len(value) > 100:
        raise ValueError(f"{what} {value!r} must be dotted words of letters, digits, _ and -")
    return value


def unparseable(message_id: str, source: str, body: bytes, error: Exception) -> Message:
    """An envelope standing in for a body that is not one, so it can be dead-lettered."""
    return Message(
        id=message_id,
        type="ledgerbridge.unparseable",
        source=source,
        data={"body": body.decode("utf-8", errors="replace"), "error": str(error)},
    )


class InFlight:
    """Counts running handlers so shutdown can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.closing = asyncio.Event()

    def enter(self) -> None:
        """A handler starts."""
        self._count += 1
        self._idle.clear()

    def leave(self) -> None:
        """A handler ended."""
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def wait_idle(self, grace: float) -> bool:
        """Wait until no handler runs; False if ``grace`` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return False
        return True

    async def backoff(self, seconds: float) -> None:
        """Sleep before a redelivery, cut short when shutdown begins."""
        try:
            await asyncio.wait_for(self.closing.wait(), seconds)
        except TimeoutError:
            return
