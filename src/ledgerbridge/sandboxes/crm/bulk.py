"""Bulk API 2.0: ingest jobs (CSV in, per-record results out) and query jobs (SOQL to CSV).

Jobs run to completion as soon as they can (an ingest job when its upload is complete, a query
job when created), so a client's first poll finds them finished; the states and shapes are
those Salesforce reports.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ledgerbridge.sandboxes.crm.errors import SalesforceError, not_found
from ledgerbridge.sandboxes.crm.ids import make_id, normalise_id
from ledgerbridge.sandboxes.crm.objects import USER_ID
from ledgerbridge.sandboxes.crm.query import Executor
from ledgerbridge.sandboxes.crm.records import resolve_type
from ledgerbridge.sandboxes.crm.routing import json_object, json_response, route
from ledgerbridge.sandboxes.crm.soql import Path, parse
from ledgerbridge.sandboxes.crm.state import SandboxState
from ledgerbridge.sandboxes.crm.values import format_datetime

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")
FINISHED = ("JobComplete", "Failed", "Aborted")
# Bulk CSV writes "#N/A" to clear a field; an empty cell means "leave as is".
NULL_MARK = "#N/A"


@dataclass
class Job:
    """One Bulk API 2.0 job and what it has produced so far."""

    id: str
    kind: str  # "ingest" or "query"
    operation: str
    sobject: str
    delimiter: str
    line_ending: str
    created: str
    state: str
    external_id: str | None = None
    query: str | None = None
    upload: str | None = None
    header: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    error: str | None = None
    modified: str = ""

    def info(self, version: str) -> dict[str, Any]:
        """The job info JSON Salesforce returns."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": USER_ID,
            "createdDate": self.created,
            "systemModstamp": self.modified or self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": Decimal(version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if self.kind == "ingest":
            body["jobType"] = "V2Ingest"
            body["contentUrl"] = f"services/data/v{version}/jobs/ingest/{self.id}/batches"
            body["numberRecordsProcessed"] = len(self.successes) + len(self.failures)
            body["numberRecordsFailed"] = len(self.failures)
            if self.external_id:
                body["externalIdFieldName"] = self.external_id
        else:
            body["jobType"] = "V2Query"
            body["numberRecordsProcessed"] = len(self.rows)
        if self.error:
            body["errorMessage"] = self.error
        return body


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _csv(job: Job, header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=DELIMITERS[job.delimiter],
        lineterminator=LINE_ENDINGS[job.line_ending],
        quoting=csv.QUOTE_MINIMAL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _failure(exc: SalesforceError) -> str:
    return f"{exc.error_code}:{exc.message}:{':'.join(exc.fields or [])} --"


class Bulk:
    """The jobs of one sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.jobs: dict[str, Job] = {}

    def _now(self) -> str:
        return format_datetime(self.state.store.clock())

    def _new_id(self) -> str:
        return make_id("750", self.state.store.next_value("bulk-job"))

    def job(self, kind: str, job_id: str) -> Job:
        """The job `job_id` of `kind`, or 404."""
        found = self.jobs.get(job_id)
        if found is None or found.kind != kind:
            raise not_found(f"Job {job_id} does not exist")
        return found

    def _formats(self, payload: dict[str, Any]) -> tuple[str, str]:
        delimiter = str(payload.get("columnDelimiter") or "COMMA")
        line_ending = str(payload.get("lineEnding") or "LF")
        if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
            raise SalesforceError(
                400, "INVALIDJOB", f"Unsupported columnDelimiter or lineEnding: {delimiter}"
            )
        return delimiter, line_ending

    # -- ingest --------------------------------------------------------------

    def create_ingest(self, payload: dict[str, Any]) -> Job:
        """Open an ingest job."""
        operation = payload.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise SalesforceError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        sobject_type = resolve_type(str(payload.get("object", "")))
        external_id = payload.get("externalIdFieldName")
        if operation == "upsert":
            field = sobject_type.field(str(external_id or ""))
            if field is None or not (field.external_id or field.name == "Id"):
                raise SalesforceError(
                    400,
                    "INVALIDJOB",
                    f"External ID field {external_id} is not an external id of {sobject_type.name}",
                )
        delimiter, line_ending = self._formats(payload)
        job = Job(
            id=self._new_id(),
            kind="ingest",
            operation=str(operation),
            sobject=sobject_type.name,
            delimiter=delimiter,
            line_ending=line_ending,
            created=self._now(),
            state="Open",
            external_id=str(external_id) if external_id else None,
        )
        self.jobs[job.id] = job
        return job

    def upload(self, job: Job, data: str) -> None:
        """Accept the CSV data of an open job."""
        if job.state != "Open":
            raise SalesforceError(409, "INVALIDJOBSTATE", f"Job {job.id} is not Open")
        if job.upload is not None:
            raise SalesforceError(
                400, "INVALIDJOBSTATE", "Only one upload is allowed per job; create another job"
            )
        job.upload = data

    def change_state(self, job: Job, wanted: Any) -> None:
        """Close (UploadComplete) or abort a job."""
        if wanted == "Aborted":
            if job.state in FINISHED:
                raise SalesforceError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}")
            job.state = "Aborted"
            job.modified = self._now()
            return
        if wanted != "UploadComplete" or job.kind != "ingest" or job.state != "Open":
            raise SalesforceError(
                409, "INVALIDJOBSTATE", f"Cannot move job {job.id} from {job.state} to {wanted}"
            )
        job.state = "UploadComplete"
        job.modified = self._now()
        self._run_ingest(job)

    def _run_ingest(self, job: Job) -> None:
        if not job.upload:
            job.state, job.error = "Failed", "InvalidBatch : No data was uploaded for this job"
            return
        reader = csv.reader(
            io.StringIO(job.upload, newline=""), delimiter=DELIMITERS[job.delimiter]
        )
        rows = [row for row in reader if row]
        if not rows:
            job.state, job.error = "Failed", "InvalidBatch : The CSV data has no header row"
            return
        job.header = rows[0]
        for row in rows[1:]:
            values = dict(zip(job.header, row, strict=False))
            try:
                record_id, created = self._ingest_one(job, values)
            except SalesforceError as exc:
                job.failures.append([values.get("Id", ""), _failure(exc), *row])
                continue
            job.successes.append([record_id, "true" if created else "false", *row])
        job.state = "JobComplete"
        job.modified = self._now()

    def _ingest_one(self, job: Job, values: dict[str, str]) -> tuple[str, bool]:
        records = self.state.records
        sobject_type = resolve_type(job.sobject)
        fields = {k: (None if v == NULL_MARK else v) for k, v in values.items() if v != ""}
        if job.operation == "insert":
            return records.create(sobject_type, fields), True
        if job.operation == "upsert" and job.external_id:
            key = fields.get(job.external_id)
            if key is None:
                raise SalesforceError(
                    400,
                    "MISSING_ARGUMENT",
                    f"{job.external_id} not specified",
                    [job.external_id],
                )
            return records.upsert(sobject_type, job.external_id, str(key), fields)
        record_id = fields.pop("Id", None)
        if record_id is None:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified", ["Id"])
        if job.operation == "update":
            records.update(sobject_type, record_id, fields)
        else:
            records.delete(sobject_type, record_id)
        return normalise_id(record_id) or record_id, False

    def results(self, job: Job, which: str) -> str:
        """The CSV of successful, failed or unprocessed records."""
        if which == "successfulResults":
            return _csv(job, ["sf__Id", "sf__Created", *job.header], job.successes)
        if which == "failedResults":
            return _csv(job, ["sf__Id", "sf__Error", *job.header], job.failures)
        unprocessed: list[list[str]] = []
        if job.state == "Aborted" and job.upload:
            reader = csv.reader(
                io.StringIO(job.upload, newline=""), delimiter=DELIMITERS[job.delimiter]
            )
            header, *unprocessed = [row for row in reader if row] or [[]]
            return _csv(job, header, unprocessed)
        return _csv(job, job.header, unprocessed)

    # -- query ---------------------------------------------------------------

    def create_query(self, payload: dict[str, Any], version: str) -> Job:
        """Create a query job and run its query."""
        operation = payload.get("operation")
        if operation not in QUERY_OPERATIONS:
            raise SalesforceError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        soql = payload.get("query")
        if not isinstance(soql, str):
            raise SalesforceError(400, "INVALIDJOB", "A query job needs a query")
        parsed = parse(soql)
        if parsed.count or parsed.children or parsed.aggregates or parsed.group_by:
            raise SalesforceError(
                400, "INVALIDJOB", "Bulk queries support no aggregates and no nested queries"
            )
        delimiter, line_ending = self._formats(payload)
        executor = Executor(self.state.records, version, self.state.store.clock().date())
        _, records = executor.run(parsed, include_deleted=operation == "queryAll")
        job = Job(
            id=self._new_id(),
            kind="query",
            operation=str(operation),
            sobject=resolve_type(parsed.sobject).name,
            delimiter=delimiter,
            line_ending=line_ending,
            created=self._now(),
            state="UploadComplete",
            query=soql,
            header=[".".join(p.parts) for p in parsed.select],
            rows=[[_cell(_walk(r, p)) for p in parsed.select] for r in records],
        )
        self.jobs[job.id] = job
        return job

    def page(self, job: Job, locator: str | None, max_records: int | None) -> tuple[str, int, str]:
        """(CSV, number of records, next locator or "null") of a query job's results."""
        if job.state != "JobComplete":
            raise SalesforceError(400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}")
        start = int(locator) if locator and locator.isdigit() else 0
        size = max_records or len(job.rows) or 1
        chunk = job.rows[start : start + size]
        following = start + size
        next_locator = str(following) if following < len(job.rows) else "null"
        return _csv(job, job.header, chunk), len(chunk), next_locator

    def poll(self, job: Job) -> None:
        """A query job finishes by the time anyone asks."""
        if job.kind == "query" and job.state == "UploadComplete":
            job.state = "JobComplete"
            job.modified = self._now()


def _walk(record: dict[str, Any], path: Path) -> Any:
    value: Any = record
    for part in path.parts:
        if not isinstance(value, dict):
            return None
        lowered = {k.lower(): v for k, v in value.items()}
        value = lowered.get(part.lower())
    return value


def routes(bulk: Bulk) -> APIRouter:
    """The Bulk API 2.0 endpoints."""
    router = APIRouter()
    base = "/services/data/v{version}/jobs"

    @route(router, base + "/ingest", ["POST"])
    async def create_ingest(version: str, request: Request) -> Response:
        """Open an ingest job."""
        return json_response(bulk.create_ingest(await json_object(request)).info(version))

    @route(router, base + "/ingest/{job_id}/batches", ["PUT"])
    async def upload(version: str, job_id: str, request: Request) -> Response:
        """Upload the job's CSV data."""
        bulk.upload(bulk.job("ingest", job_id), (await request.body()).decode("utf-8"))
        return Response(status_code=201)

    @route(router, base + "/{kind}/{job_id}", ["PATCH"])
    async def change_state(version: str, kind: str, job_id: str, request: Request) -> Response:
        """Close or abort a job."""
        job = bulk.job(kind, job_id)
        bulk.change_state(job, (await json_object(request)).get("state"))
        body = job.info(version)
        if job.kind == "ingest" and job.state == "JobComplete":
            body["state"] = "UploadComplete"  # what Salesforce answers before processing
        return json_response(body)

    @route(router, base + "/{kind}/{job_id}", ["GET"])
    async def get_job(version: str, kind: str, job_id: str) -> Response:
        """Report a job's state and counts."""
        job = bulk.job(kind, job_id)
        bulk.poll(job)
        return json_response(job.info(version))

    @route(router, base + "/{kind}/{job_id}", ["DELETE"])
    async def delete_job(version: str, kind: str, job_id: str) -> Response:
        """Delete a finished job and its data."""
        job = bulk.job(kind, job_id)
        bulk.poll(job)
        if job.state not in FINISHED:
            raise SalesforceError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}")
        del bulk.jobs[job.id]
        return Response(status_code=204)

    @route(router, base + "/{kind}", ["GET"])
    async def list_jobs(version: str, kind: str) -> Response:
        """List the jobs of one kind."""
        if kind not in ("ingest", "query"):
            raise not_found()
        jobs = [j.info(version) for j in bulk.jobs.values() if j.kind == kind]
        return json_response({"done": True, "records": jobs, "nextRecordsUrl": None})

    @route(router, base + "/ingest/{job_id}/{which}", ["GET"])
    async def ingest_results(version: str, job_id: str, which: str) -> Response:
        """Successful, failed or unprocessed records as CSV."""
        if which not in ("successfulResults", "failedResults", "unprocessedrecords"):
            raise not_found()
        text = bulk.results(bulk.job("ingest", job_id), which)
        return Response(text, media_type="text/csv")

    @route(router, base + "/query", ["POST"])
    async def create_query(version: str, request: Request) -> Response:
        """Create a query job; the answer is JSON whatever Accept says."""
        return json_response(bulk.create_query(await json_object(request), version).info(version))

    @route(router, base + "/query/{job_id}/results", ["GET"])
    async def query_results(
        version: str,
        job_id: str,
        locator: str | None = None,
        maxRecords: int | None = None,  # noqa: N803 - Salesforce's parameter name
    ) -> Response:
        """A page of a query job's results as CSV; Sforce-Locator leads to the next."""
        job = bulk.job("query", job_id)
        bulk.poll(job)
        text, count, next_locator = bulk.page(job, locator, maxRecords)
        headers = {"Sforce-NumberOfRecords": str(count), "Sforce-Locator": next_locator}
        return Response(text, media_type="text/csv", headers=headers)

    return router
