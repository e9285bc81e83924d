"""Background work of the Experience layer (case watchers, webhook deliveries), stopped as one.

The composition root closes it before the clients the work calls, so nothing outlives them::

    background.spawn(watch_and_notify(order_id), name=f"watch {order_id}")
    ...
    await background.aclose()
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger("ledgerbridge.experience.background")


class Background:
    """A set of running tasks, each logged if it fails, all cancelled on `aclose`."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        """Run ``work`` in the background until it ends or the layer stops."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task failed", task=task.get_name(), error=repr(error))

    async def aclose(self) -> None:
        """Cancel every running task and wait for them to stop."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
