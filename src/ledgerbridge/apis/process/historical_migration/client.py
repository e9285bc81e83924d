"""Published contract of the historical-migration Process API: its models and typed client."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page

MAX_BATCH_SIZE = 200


class MigrationEntity(enum.StrEnum):
    """What a run can migrate: CRM accounts into ERP customers (the engine brings more)."""

    CUSTOMERS = "customers"


class RunStatus(enum.StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class StartMigration(BaseModel):
    """Ask for a migration run."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["crm"] = Field(description="Where records are read.")
    target: Literal["erp"] = Field(description="Where records are written.")
    entities: list[MigrationEntity] = Field(
        min_length=1, max_length=1, description="The one entity this run migrates."
    )
    batch_size: int = Field(default=50, ge=1, le=MAX_BATCH_SIZE, description="Records per batch.")


class Progress(BaseModel):
    """How far a run got; each figure counts records, over the batches committed."""

    batches: int
    read: int = Field(description="Read from the source.")
    written: int = Field(description="Written to the target (created, or found there already).")
    failed: int = Field(description="Refused by the target; listed on their batch.")
    reconciled: int = Field(
        description="Written and read back carrying the source's id, with a crosswalk row."
    )


class MigrationRun(BaseModel):
    """One migration run: what it moves, its status, progress and checkpoint."""

    run_id: str
    status: RunStatus
    source: str
    target: str
    entities: list[MigrationEntity]
    batch_size: int
    progress: Progress
    checkpoint: str | None = Field(
        description="The source position after the last committed batch; a resume reads on."
    )
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class BatchFailure(BaseModel):
    """A record the target refused, and why."""

    source_id: str | None
    error: str


class MigrationBatch(BaseModel):
    """One committed batch of a run."""

    sequence: int
    read: int
    written: int
    failed: int
    reconciled: int
    failures: list[BatchFailure]
    at: datetime


class HistoricalMigrationClient(ApiClient):
    """Starts, watches, cancels and resumes batch migration runs."""

    base_path = "/process/historical-migration/v1"

    async def start(self, request: StartMigration, *, idempotency_key: str) -> MigrationRun:
        """Start a run; the same key returns the run it started the first time."""
        return await self._call(
            "POST",
            "/runs",
            MigrationRun,
            json=request.model_dump(mode="json"),
            headers={"Idempotency-Key": idempotency_key},
        )

    async def get_run(self, run_id: str) -> MigrationRun:
        """A run with its progress."""
        return await self._call("GET", f"/runs/{quote(run_id)}", MigrationRun)

    async def list_runs(self, *, limit: int = 50, cursor: str | None = None) -> Page[MigrationRun]:
        """One page of runs, newest first."""
        return await self._page("/runs", MigrationRun, filters={}, limit=limit, cursor=cursor)

    async def list_batches(
        self, run_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[MigrationBatch]:
        """One page of a run's committed batches, in order."""
        path = f"/runs/{quote(run_id)}/batches"
        return await self._page(path, MigrationBatch, filters={}, limit=limit, cursor=cursor)

    async def cancel(self, run_id: str) -> MigrationRun:
        """Stop a running run after its current batch; a repeat changes nothing."""
        return await self._call("POST", f"/runs/{quote(run_id)}/cancellation", MigrationRun)

    async def resume(self, run_id: str) -> MigrationRun:
        """Go on from the checkpoint with a cancelled, failed or orphaned run."""
        return await self._call("POST", f"/runs/{quote(run_id)}/resumption", MigrationRun)
