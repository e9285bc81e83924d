"""Running a migration: a batched copy of CRM accounts into ERP customers, through the System
APIs, one committed batch at a time.

Each batch reads one page of CRM accounts from the run's checkpoint (the crm-accounts cursor,
keyed on the account id), writes each account with the ERP's ensure-customer (which finds the
customer by its CRM id before creating one, so a batch written twice creates nothing twice),
reads back what the ERP holds and records the crosswalk row, then commits the batch's counts
with the new checkpoint. A run stopped anywhere (cancelled, failed, or its process gone)
resumes from the last committed checkpoint.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.historical_migration import store
from ledgerbridge.apis.process.historical_migration.client import BatchFailure, RunStatus
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.erp_customers.client import ErpCustomersClient
from ledgerbridge.canonical import Party
from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.problems import UpstreamProblem
from ledgerbridge.runtime.store import find_link, link

log = structlog.get_logger("ledgerbridge.historical_migration")


def task_name(run_id: str) -> str:
    """The name of the asyncio task running ``run_id`` (for operators and tests)."""
    return f"migration-run:{run_id}"


class Runner:
    """Runs migration runs in background tasks of this process, one task per run."""

    def __init__(self, deps: ProcessDeps) -> None:
        self._deps = deps
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def is_running_here(self, run_id: str) -> bool:
        """Whether a task of this process is running ``run_id`` right now."""
        task = self._tasks.get(run_id)
        return task is not None and not task.done()

    def launch(self, run_id: str) -> None:
        """Run ``run_id`` in the background from its checkpoint."""
        if self.is_running_here(run_id):
            return
        self._tasks[run_id] = asyncio.create_task(self._run(run_id), name=task_name(run_id))

    async def _run(self, run_id: str) -> None:
        try:
            while await self._one_batch(run_id):
                pass
        except LedgerbridgeError as exc:
            # The source or target is down, or refused the read itself: the run stops here
            # and a resume reads on from the checkpoint.
            async with self._deps.store.engine.begin() as conn:
                await store.set_status(
                    conn, run_id, expected=(RunStatus.RUNNING,), to=RunStatus.FAILED, error=str(exc)
                )
            log.warning("migration run failed", run_id=run_id, error=str(exc))

    async def _one_batch(self, run_id: str) -> bool:
        """Run the next batch; whether the run goes on."""
        async with self._deps.store.engine.connect() as conn:
            run = await store.load_run(conn, run_id)
        if run is None or run.status is not RunStatus.RUNNING:
            return False
        page = await CrmAccountsClient(self._deps.system).list_accounts(
            limit=run.batch_size, cursor=run.checkpoint
        )
        written: list[tuple[Party, Party]] = []
        failures: list[BatchFailure] = []
        customers = ErpCustomersClient(self._deps.system)
        for account in page.items:
            try:
                written.append((account, await customers.ensure_customer(account)))
            except UpstreamProblem as exc:
                if exc.status >= 500:
                    raise
                failures.append(BatchFailure(source_id=account.crm_id, error=str(exc)))
        async with self._deps.store.engine.begin() as conn:
            reconciled = 0
            for account, customer in written:
                reconciled += await _link(conn, account, customer)
            outcome = store.BatchOutcome(
                sequence=run.progress.batches + 1,
                cursor_in=run.checkpoint,
                cursor_out=page.next_cursor,
                read=len(page.items),
                written=len(written),
                reconciled=reconciled,
                failures=failures,
            )
            if not await store.commit_batch(conn, run_id, outcome):
                return False
            if page.next_cursor is None:
                await store.set_status(
                    conn, run_id, expected=(RunStatus.RUNNING,), to=RunStatus.COMPLETED
                )
                return False
        return True


async def _link(conn: AsyncConnection, account: Party, customer: Party) -> bool:
    """Record the crosswalk row of a written account; whether the ERP's copy reconciles
    (it carries the account's CRM id, and the crosswalk agrees)."""
    if account.crm_id is None or customer.erp_id is None or customer.crm_id != account.crm_id:
        return False
    existing = await find_link(conn, "party", crm_id=account.crm_id)
    if existing is not None and existing.erp_id is not None:
        return existing.erp_id == customer.erp_id
    try:
        await link(conn, "party", crm_id=account.crm_id, erp_id=customer.erp_id)
    except LedgerbridgeError:
        return False
    return True
