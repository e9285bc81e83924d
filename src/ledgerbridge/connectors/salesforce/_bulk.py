"""Bulk API 2.0 jobs: CSV in and out, job creation, polling and results."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import time
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from ledgerbridge.connectors.salesforce._errors import BACKEND
from ledgerbridge.runtime.errors import BackendRejected, BackendUnavailable

BulkOperation = Literal["insert", "update", "upsert", "delete", "hardDelete"]
_FINISHED = ("JobComplete", "Failed", "Aborted")
_CSV = "text/csv; charset=UTF-8"


class Call(Protocol):
    """How a bulk job reaches Salesforce: the client's authenticated request."""

    async def __call__(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: tuple[bytes, str] | None = None,
    ) -> httpx.Response:
        """Send one request; raise the translated error on failure."""


class BulkRecordResult(BaseModel):
    """One record of a finished ingest job: its id, and whether it was created or why not."""

    model_config = ConfigDict(frozen=True)

    id: str | None
    success: bool
    created: bool = False
    error: str | None = None
    fields: dict[str, str]


class BulkIngestResult(BaseModel):
    """A finished ingest job: its id and state, counts and per-record results."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    state: str
    records_processed: int
    records_failed: int
    successes: list[BulkRecordResult]
    failures: list[BulkRecordResult]


def _cell(value: Any) -> str:
    if value is None:
        return "#N/A"  # Bulk CSV's way of clearing a field
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(records: Sequence[Mapping[str, Any]]) -> str:
    """CSV for an upload: one column per field any record names, in first-seen order."""
    columns: list[str] = []
    for record in records:
        columns.extend(k for k in record if k not in columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record[c]) if c in record else "" for c in columns])
    return out.getvalue()


def from_csv(text: str) -> list[dict[str, str]]:
    """The rows of a CSV result as dicts keyed by the header."""
    return list(csv.DictReader(io.StringIO(text)))


async def _wait(call: Call, path: str, poll_interval: float, job_wait: float) -> dict[str, Any]:
    deadline = time.monotonic() + job_wait
    while True:
        job: dict[str, Any] = (await call("GET", path)).json()
        if job.get("state") in _FINISHED:
            if job["state"] != "JobComplete":
                raise BackendRejected(
                    f"bulk job {job.get('id')} {job['state']}: {job.get('errorMessage', '')}",
                    backend=BACKEND,
                )
            return job
        if time.monotonic() > deadline:
            raise BackendUnavailable(
                f"bulk job {job.get('id')} still {job.get('state')} after {job_wait:g}s",
                backend=BACKEND,
            )
        await asyncio.sleep(poll_interval)


async def run_ingest(
    call: Call,
    sobject: str,
    operation: BulkOperation,
    records: Sequence[Mapping[str, Any]],
    *,
    external_id_field: str | None,
    poll_interval: float,
    job_wait: float,
) -> BulkIngestResult:
    """Create, upload, close and await an ingest job; collect its results."""
    spec: dict[str, Any] = {
        "object": sobject,
        "operation": operation,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    if external_id_field:
        spec["externalIdFieldName"] = external_id_field
    job_id = str((await call("POST", "jobs/ingest", body=spec)).json()["id"])
    path = f"jobs/ingest/{job_id}"
    try:
        await call("PUT", f"{path}/batches", raw=(to_csv(records).encode(), _CSV))
        await call("PATCH", path, body={"state": "UploadComplete"})
    except BaseException:
        # Leave no open job behind; the original failure is what the caller needs.
        with contextlib.suppress(BackendRejected, BackendUnavailable):
            await call("PATCH", path, body={"state": "Aborted"})
        raise
    job = await _wait(call, path, poll_interval, job_wait)
    successes = from_csv((await call("GET", f"{path}/successfulResults")).text)
    failures = from_csv((await call("GET", f"{path}/failedResults")).text)
    return BulkIngestResult(
        job_id=job_id,
        state=str(job["state"]),
        records_processed=int(job.get("numberRecordsProcessed", 0)),
        records_failed=int(job.get("numberRecordsFailed", 0)),
        successes=[
            BulkRecordResult(
                id=row.pop("sf__Id") or None,
                success=True,
                created=row.pop("sf__Created") == "true",
                fields=row,
            )
            for row in successes
        ],
        failures=[
            BulkRecordResult(
                id=row.pop("sf__Id") or None,
                success=False,
                error=row.pop("sf__Error"),
                fields=row,
            )
            for row in failures
        ],
    )


async def run_query(
    call: Call,
    soql: str,
    *,
    include_deleted: bool,
    page_size: int,
    poll_interval: float,
    job_wait: float,
) -> list[dict[str, str]]:
    """Create and await a query job, then read every page of its CSV results."""
    spec = {
        "operation": "queryAll" if include_deleted else "query",
        "query": soql,
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    job_id = str((await call("POST", "jobs/query", body=spec)).json()["id"])
    path = f"jobs/query/{job_id}"
    await _wait(call, path, poll_interval, job_wait)
    rows: list[dict[str, str]] = []
    locator = ""
    while True:
        params = {"maxRecords": str(page_size), **({"locator": locator} if locator else {})}
        page = await call("GET", f"{path}/results", params)
        rows.extend(from_csv(page.text))
        locator = page.headers.get("Sforce-Locator", "null")
        if not locator or locator == "null":
            return rows
