"""The failed attempts at handling a message, per consumer group: what counts toward
``max_deliver``.

A broker counts deliveries, and a delivery cut short by a crash counts like one whose handler
raised: a message whose handler is long could use up its attempts on crashes alone. Counted
here, only what a handler raised is a failed attempt. `StoredFailures` keeps them in the
store, so every process of a group counts the same attempts; the broker's own limit stays as
the backstop for a message that kills its consumer every time (`DeliveryPolicy.broker_limit`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import UTC
from typing import Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from ledgerbridge.runtime.messaging._bus import Attempt
from ledgerbridge.runtime.store.schema import metadata

log = structlog.get_logger("ledgerbridge.bus")
# Records of one message's failures racing for the same number: each round one of them wins.
_TRIES = 5

delivery_failure = sa.Table(
    "delivery_failure",
    metadata,
    sa.Column("consumer", sa.String(128), primary_key=True),
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("error_type", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


class FailureLog(Protocol):
    """Where a bus keeps the failed attempts of each message and consumer group."""

    async def add(self, group: str, message_id: str, attempt: Attempt) -> tuple[Attempt, ...]:
        """Record a failed attempt (its ``number`` is set here); every failed attempt of the
        message in ``group``, oldest first."""
        ...

    async def forget(self, group: str, message_id: str) -> None:
        """Drop the failures of a message that was handled or given up."""
        ...


class LocalFailures:
    """The failures this process saw, for a bus without a store: redeliveries to other
    processes are not counted here (the broker's limit still ends them)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._attempts: OrderedDict[tuple[str, str], list[Attempt]] = OrderedDict()

    async def add(self, group: str, message_id: str, attempt: Attempt) -> tuple[Attempt, ...]:
        known = self._attempts.pop((group, message_id), [])
        known.append(replace(attempt, number=len(known) + 1))
        self._attempts[(group, message_id)] = known
        while len(self._attempts) > self._capacity:
            self._attempts.popitem(last=False)
        return tuple(known)

    async def forget(self, group: str, message_id: str) -> None:
        self._attempts.pop((group, message_id), None)


class StoredFailures:
    """The failures of every process of a group, in the store.

    Usage::

        bus = await connect_bus(url, dead_letters=channel, failures=StoredFailures(engine))
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, group: str, message_id: str, attempt: Attempt) -> tuple[Attempt, ...]:
        for _ in range(_TRIES):  # processes failing one message at once: the later go again
            try:
                async with self._engine.begin() as conn:
                    rows = await conn.execute(
                        sa.select(delivery_failure)
                        .where(*_of(group, message_id))
                        .order_by(delivery_failure.c.number)
                    )
                    known = [_attempt(row) for row in rows]
                    added = replace(attempt, number=len(known) + 1)
                    await conn.execute(
                        delivery_failure.insert().values(
                            consumer=group,
                            message_id=message_id,
                            number=added.number,
                            error=added.error,
                            error_type=added.error_type,
                            at=added.at,
                        )
                    )
                return (*known, added)
            except sa.exc.IntegrityError:
                continue
        raise RuntimeError(f"could not record a failure of message {message_id} in {group}")

    async def forget(self, group: str, message_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delivery_failure.delete().where(*_of(group, message_id)))


async def forget_failures(failures: FailureLog, group: str, message_id: str) -> None:
    """Drop a message's failures once it is handled or given up; a store that fails here
    leaves rows that only a later message with the same id would count."""
    try:
        await failures.forget(group, message_id)
    except Exception:
        log.exception("failures of a handled message left behind", group=group, message=message_id)


def _of(group: str, message_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (delivery_failure.c.consumer == group, delivery_failure.c.message_id == message_id)


def _attempt(row: sa.Row[tuple[object, ...]]) -> Attempt:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    return Attempt(row.number, row.error, row.error_type, at)
