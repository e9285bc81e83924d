"""The Process layer's background workers: the outbox relay, the order-to-cash advancer and
the scheduled jobs.

Several worker processes may run side by side on one PostgreSQL store: the relay locks its
batch (``FOR UPDATE SKIP LOCKED``), the advancer moves cases by compare-and-set and runs a
stalled start only under the case's claim, and a scheduled job fires once per interval across
all of them, whichever takes its schedule row first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.erp_renumbering import consume_renumbering
from ledgerbridge.apis.process.order_to_cash.advancer import CaseAdvancer
from ledgerbridge.apis.process.order_to_cash.crm_changes import consume_crm_order_changes
from ledgerbridge.apis.process.order_to_cash.store import STALE_CLAIM
from ledgerbridge.apis.process.product_pricing_sync.client import DEFAULT_BATCH_SIZE
from ledgerbridge.apis.process.product_pricing_sync.service import SCHEDULE, SyncBusy, run_sync
from ledgerbridge.runtime.dead_letters import DeadLetterChannel
from ledgerbridge.runtime.messaging import (
    DEFAULT_NAMESPACE,
    EventBus,
    OutboxRelay,
    StoredFailures,
    connect_bus,
)
from ledgerbridge.runtime.store.checkpoints import stream_checkpoints

log = structlog.get_logger("ledgerbridge.process.workers")
PRODUCT_SYNC_SCHEDULE = "schedule.product-pricing-sync"


@dataclass(frozen=True, slots=True)
class Workers:
    """The running workers, for a caller that wants to drive or inspect them."""

    bus: EventBus
    relay: OutboxRelay
    advancer: CaseAdvancer


@dataclass(frozen=True, slots=True)
class WorkerTuning:
    """How workers share the store and stop.

    ``claim_lease``: a case claim not renewed for this long is taken over (a dead worker's);
    it must outlast the longest step a start run by an API request makes between two moves,
    since those are not renewed. ``shutdown_grace``: seconds a stopping worker lets in-flight
    work finish before cancelling it.
    """

    claim_lease: timedelta = STALE_CLAIM
    shutdown_grace: float = 10.0


async def take_turn(engine: AsyncEngine, schedule: str, interval: float) -> bool:
    """Whether this worker runs ``schedule`` now; at most one worker gets each turn.

    The schedule's row in the store (a stream checkpoint whose position is the next due
    time, in epoch milliseconds) is moved on by one conditional UPDATE: of several workers
    reaching a due turn at once, one updates it and the others find it moved.
    """
    now = int(time.time() * 1000)
    following = now + int(interval * 1000)
    row = stream_checkpoints.c
    async with engine.begin() as conn:
        moved = await conn.execute(
            stream_checkpoints.update()
            .where(row.consumer == schedule)
            .where(row.position <= now)
            .values(position=following)
        )
        if moved.rowcount == 1:
            return True
        known = await conn.execute(sa.select(row.position).where(row.consumer == schedule))
        if known.first() is not None:
            return False
    try:
        async with engine.begin() as conn:
            await conn.execute(
                stream_checkpoints.insert().values(
                    consumer=schedule, position=following, updated_at=datetime.now(UTC)
                )
            )
    except sa.exc.IntegrityError:  # another worker took the first turn
        return False
    return True


async def _scheduled(
    engine: AsyncEngine,
    schedule: str,
    interval: float,
    job: Callable[[], Awaitable[None]],
    stopping: asyncio.Event,
) -> None:
    """Run ``job`` on each turn of ``schedule`` this worker takes, until ``stopping``."""
    poll = min(interval, 1.0)
    while not stopping.is_set():
        try:
            if await take_turn(engine, schedule, interval):
                await job()
        except Exception:
            log.exception("scheduled job failed", schedule=schedule)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), poll)


async def _relay_until(relay: OutboxRelay, interval: float, stopping: asyncio.Event) -> None:
    """Publish the outbox until ``stopping``, outliving a failed round (the store restarting)."""
    while not stopping.is_set():
        try:
            published = await relay.run_once()
        except Exception:
            log.exception("outbox relay round failed")
            published = 0
        if published == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)


@contextlib.asynccontextmanager
async def process_workers(
    deps: ProcessDeps,
    *,
    bus_url: str,
    bus_namespace: str = DEFAULT_NAMESPACE,
    advance_interval: float,
    retry_after: timedelta,
    relay_interval: float,
    fulfilment_sla: timedelta | None = None,
    product_sync_interval: float | None = None,
    tuning: WorkerTuning = WorkerTuning(),
) -> AsyncIterator[Workers]:
    """Connect the bus and run the relay and the advancer until the block ends (and the
    product and pricing sync every ``product_sync_interval`` seconds, when given).

    Leaving the block stops them gracefully: each finishes what it holds (a relay batch, the
    case in hand, a sync run) within ``tuning.shutdown_grace`` seconds, then is cancelled.
    """
    bus = await connect_bus(
        bus_url,
        dead_letters=DeadLetterChannel(deps.store.engine),
        namespace=bus_namespace,
        failures=StoredFailures(deps.store.engine),
    )
    # After an ERP cut-over, rewrites the references to old ERP ids (closed with the bus).
    await consume_renumbering(bus, deps)
    # Orders activated or cancelled in the CRM start or cancel their cases (closed with the bus).
    await consume_crm_order_changes(bus, deps)
    relay = OutboxRelay(deps.store.engine, bus, poll_interval=relay_interval)
    advancer = CaseAdvancer(
        deps,
        interval=advance_interval,
        retry_after=retry_after,
        fulfilment_sla=fulfilment_sla,
        claim_lease=tuning.claim_lease,
    )
    stopping = asyncio.Event()
    tasks = [
        asyncio.create_task(_relay_until(relay, relay_interval, stopping), name="outbox-relay"),
        asyncio.create_task(advancer.run(), name="order-to-cash-advancer"),
    ]
    if product_sync_interval is not None:

        async def sync() -> None:
            try:
                await run_sync(deps, trigger=SCHEDULE, batch_size=DEFAULT_BATCH_SIZE)
            except SyncBusy:
                log.info("scheduled product sync skipped: a run is going")

        tasks.append(
            asyncio.create_task(
                _scheduled(
                    deps.store.engine, PRODUCT_SYNC_SCHEDULE, product_sync_interval, sync, stopping
                ),
                name="product-pricing-sync",
            )
        )
    try:
        yield Workers(bus=bus, relay=relay, advancer=advancer)
    finally:
        stopping.set()
        advancer.stop()
        _, late = await asyncio.wait(tasks, timeout=tuning.shutdown_grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bus.close()
