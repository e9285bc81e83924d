"""A Change Data Capture subscription that survives restarts: the replay id lives in the store.

Each event is handled in one transaction together with saving its replay id, so after a crash
or a restart the subscription resumes right after the last event whose effects committed. A
checkpoint older than the CRM's retention window is refused by the CRM (INVALID_REPLAY_ID):
that surfaces as an error to the operator, never as a subscription that silently hears nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledgerbridge.connectors.salesforce._client import SalesforceClient
from ledgerbridge.connectors.salesforce._wire import ChangeEvent
from ledgerbridge.runtime.store import load_checkpoint, save_checkpoint

ChangeHandler = Callable[[AsyncConnection, ChangeEvent], Awaitable[None]]
# Where a consumer starts the first time: every event the CRM still retains.
_EARLIEST = -2


class ChangeSubscription:
    """Usage::

    async def on_change(conn, event): ...   # write effects with conn
    subscription = ChangeSubscription(crm, store.engine, consumer="o2c", handler=on_change)
    await subscription.run(follow=True)
    """

    def __init__(
        self,
        crm: SalesforceClient,
        engine: AsyncEngine,
        *,
        consumer: str,
        handler: ChangeHandler,
        channel: str = "ChangeEvents",
    ) -> None:
        self._crm = crm
        self._engine = engine
        self._consumer = consumer
        self._handler = handler
        self._channel = channel

    @property
    def checkpoint_name(self) -> str:
        """The store key of this subscription's replay id."""
        return f"salesforce-cdc:{self._channel}:{self._consumer}"

    async def run(self, *, follow: bool = True) -> int:
        """Handle events from the checkpoint on; returns how many were handled.

        With ``follow`` off it stops at the newest event, otherwise it waits for more.
        """
        async with self._engine.connect() as conn:
            position = await load_checkpoint(conn, self.checkpoint_name)
        handled = 0
        events = self._crm.change_events(
            self._channel, replay_id=_EARLIEST if position is None else position, follow=follow
        )
        async for event in events:
            async with self._engine.begin() as conn:
                await self._handler(conn, event)
                await save_checkpoint(conn, self.checkpoint_name, event.replay_id)
            handled += 1
        return handled
