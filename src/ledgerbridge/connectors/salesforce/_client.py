"""The async Salesforce REST client: OAuth session, sObject CRUD, upsert and SOQL."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx

from ledgerbridge.connectors.salesforce._bulk import (
    BulkIngestResult,
    BulkOperation,
    run_ingest,
    run_query,
)
from ledgerbridge.connectors.salesforce._errors import (
    error_codes,
    from_auth_response,
    from_response,
    from_transport,
    unreadable,
)
from ledgerbridge.connectors.salesforce._limits import LIMIT_EXCEEDED, ApiUsage, RequestLimit
from ledgerbridge.connectors.salesforce._wire import (
    ChangeEvent,
    CompositeResponse,
    CompositeSubrequest,
    SaveResult,
    SObjectRecord,
    UpsertResult,
)
from ledgerbridge.runtime.errors import ConnectorError

MAX_SUBREQUESTS = 25
MAX_COLLECTION = 200

_T = TypeVar("_T")


def _json_text(value: Any) -> str:
    """JSON for a request body, writing Decimals as exact numbers (never through float)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be sent to Salesforce")
        return format(value, "f")
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{_json_text(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    if isinstance(value, date):  # datetime is a date too; both speak ISO 8601
        return json.dumps(value.isoformat())
    return json.dumps(value)


class SalesforceClient:
    """Talks to one Salesforce org (or the CRM sandbox) over the REST API.

        async with SalesforceClient(
            base_url="https://login.salesforce.com", client_id=key, client_secret=secret
        ) as sf:
            account_id = await sf.create("Account", {"Name": "Acme"})
            orders = await sf.query("SELECT Id, TotalAmount FROM Order")

    It obtains an OAuth token (client credentials) on first use, keeps it, and obtains a new
    one once when Salesforce says the session expired. It watches the org's API usage
    (`api_usage`) and, on REQUEST_LIMIT_EXCEEDED, pauses for the answer's Retry-After or
    ``limit_pause`` seconds: meanwhile calls raise BackendPaused without reaching the org.
    Every failure is raised as a ledgerbridge.runtime.errors ConnectorError with backend
    "salesforce".
    """

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        api_version: str = "59.0",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        client_name: str | None = "ledgerbridge",
        limit_pause: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout
        )
        self._client_id = client_id
        self._client_secret = client_secret
        self._api_version = api_version.removeprefix("v")
        self._token: str | None = None
        self._instance_url: str | None = None
        self._login_lock = asyncio.Lock()
        self._limit = RequestLimit(pause=limit_pause, clock=clock)
        # Salesforce stamps this name into each change event's changeOrigin, which lets a
        # change-event consumer recognise (and skip) the changes this integration made.
        self._call_options = {"Sforce-Call-Options": f"client={client_name}"} if client_name else {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    @property
    def api_usage(self) -> ApiUsage | None:
        """The org's API request usage as its last answer reported it (None before any)."""
        return self._limit.usage

    @property
    def paused_for(self) -> float:
        """Seconds until calls go out again after REQUEST_LIMIT_EXCEEDED (0: not paused)."""
        return self._limit.seconds_left

    # -- records -------------------------------------------------------------

    async def get(
        self, sobject: str, record_id: str, fields: list[str] | None = None
    ) -> SObjectRecord:
        """Read one record by id.

        Args:
            sobject: the object's API name, such as "Account".
            record_id: the 15- or 18-character record id.
            fields: only these fields (the id always comes back); all fields when None.

        Returns:
            The record.
        """
        params = {"fields": ",".join(fields)} if fields else None
        response = await self._call("GET", f"sobjects/{sobject}/{_segment(record_id)}", params)
        return SObjectRecord.from_wire(self._json(response))

    async def get_by_external_id(self, sobject: str, field: str, value: str) -> SObjectRecord:
        """Read the one record whose external id `field` equals `value`."""
        path = f"sobjects/{sobject}/{_segment(field)}/{_segment(value)}"
        return SObjectRecord.from_wire(self._json(await self._call("GET", path)))

    async def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create a record; returns its new id."""
        response = await self._call("POST", f"sobjects/{sobject}/", body=fields)
        return str(self._json(response)["id"])

    async def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change the given fields of a record."""
        await self._call("PATCH", f"sobjects/{sobject}/{_segment(record_id)}", body=fields)

    async def upsert(
        self, sobject: str, external_field: str, value: str, fields: Mapping[str, Any]
    ) -> UpsertResult:
        """Create or update the record whose `external_field` equals `value`.

        Returns:
            The record's id and whether this call created it.
        """
        path = f"sobjects/{sobject}/{_segment(external_field)}/{_segment(value)}"
        response = await self._call("PATCH", path, body=fields)
        if response.status_code == httpx.codes.CREATED or response.content:
            body = self._json(response)
            return UpsertResult(id=str(body["id"]), created=bool(body.get("created", False)))
        # Salesforce answers an update with 204 and no body: find the id by the key.
        record = await self.get_by_external_id(sobject, external_field, value)
        return UpsertResult(id=record.id, created=False)

    async def delete(self, sobject: str, record_id: str) -> None:
        """Delete a record."""
        await self._call("DELETE", f"sobjects/{sobject}/{_segment(record_id)}")

    async def query(self, soql: str, *, include_deleted: bool = False) -> list[SObjectRecord]:
        """Run a SOQL query and return every matching record, following nextRecordsUrl.

        Args:
            soql: the query.
            include_deleted: use queryAll, which also returns deleted (recycle bin) records.
        """
        resource = "queryAll/" if include_deleted else "query/"
        body = self._json(await self._call("GET", resource, {"q": soql}))
        records = [SObjectRecord.from_wire(r) for r in body.get("records", [])]
        while not body.get("done", True) and body.get("nextRecordsUrl"):
            body = self._json(await self._call("GET", str(body["nextRecordsUrl"])))
            records.extend(SObjectRecord.from_wire(r) for r in body.get("records", []))
        return records

    # -- change data capture --------------------------------------------------

    async def change_events(
        self, channel: str = "ChangeEvents", *, replay_id: int = -1, follow: bool = True
    ) -> AsyncIterator[ChangeEvent]:
        """Change events from the CRM sandbox's event stream.

        This speaks the sandbox's newline-delimited JSON stream; a real org delivers the same
        events over the Pub/Sub API or CometD.

        Args:
            channel: "ChangeEvents" for every tracked object, or "<Object>ChangeEvent".
            replay_id: -1 for new events only, -2 for every retained event, or N to resume
                after event N.
            follow: keep waiting for new events; with False, stop at the newest one.

        Yields:
            The events, oldest first.
        """
        params = {"replayId": str(replay_id), "follow": str(follow).lower()}
        path = f"streaming/data/{_segment(channel)}"
        for attempt in range(2):
            self._limit.check()
            token, instance = await self._login()
            url = f"{instance}/services/data/v{self._api_version}/{path}"
            headers = {"Authorization": f"Bearer {token}"}
            # A followed stream may stay quiet for long; only connecting is bounded.
            timeout = None if follow else httpx.USE_CLIENT_DEFAULT
            try:
                async with self._http.stream(
                    "GET", url, params=params, headers=headers, timeout=timeout
                ) as response:
                    self._limit.observe(response.headers)
                    if response.status_code >= httpx.codes.MULTIPLE_CHOICES:
                        await response.aread()
                        if attempt == 0 and _session_expired(response):
                            await self._forget(token)
                            continue
                        raise self._failure(response)
                    async for line in response.aiter_lines():
                        if line.strip():
                            yield ChangeEvent.from_wire(json.loads(line, parse_float=Decimal))
                    return
            except httpx.HTTPError as exc:
                raise from_transport(exc) from exc

    # -- bulk API 2.0 ----------------------------------------------------------

    async def bulk_ingest(
        self,
        sobject: str,
        operation: BulkOperation,
        records: Sequence[Mapping[str, Any]],
        *,
        external_id_field: str | None = None,
        poll_interval: float = 0.5,
        job_wait: float = 600.0,
    ) -> BulkIngestResult:
        """Load records through a Bulk API 2.0 ingest job and wait for its results.

        A None value clears the field (`#N/A`); a missing key leaves it alone.

        Args:
            sobject: the object to load.
            operation: insert, update, upsert, delete or hardDelete.
            records: field values per record; update and delete need "Id".
            external_id_field: the key for upsert.
            poll_interval: seconds between job state checks.
            job_wait: seconds to wait for the job before BackendUnavailable.

        Returns:
            The job's counts and per-record successes and failures.
        """
        return await run_ingest(
            self._call,
            sobject,
            operation,
            records,
            external_id_field=external_id_field,
            poll_interval=poll_interval,
            job_wait=job_wait,
        )

    async def bulk_query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        page_size: int = 50_000,
        poll_interval: float = 0.5,
        job_wait: float = 600.0,
    ) -> list[dict[str, str]]:
        """Run SOQL as a Bulk API 2.0 query job; every row as CSV text per column."""
        return await run_query(
            self._call,
            soql,
            include_deleted=include_deleted,
            page_size=page_size,
            poll_interval=poll_interval,
            job_wait=job_wait,
        )

    # -- composite -----------------------------------------------------------

    async def composite(
        self, subrequests: Sequence[CompositeSubrequest], *, all_or_none: bool = False
    ) -> list[CompositeResponse]:
        """Run up to 25 subrequests in one call; later ones may use `@{ref.field}` of earlier.

        A refused subrequest is reported in its response, not raised; with `all_or_none`,
        one refusal rolls back every subrequest.

        Returns:
            One response per subrequest, in order.
        """
        if len(subrequests) > MAX_SUBREQUESTS:
            raise ValueError(f"a composite request takes at most {MAX_SUBREQUESTS} subrequests")
        data_path = f"/services/data/v{self._api_version}/"
        payload = {
            "allOrNone": all_or_none,
            "compositeRequest": [
                {
                    "method": sub.method,
                    "url": sub.url if sub.url.startswith("/") else data_path + sub.url,
                    "referenceId": sub.reference_id,
                    **({"body": sub.body} if sub.body is not None else {}),
                }
                for sub in subrequests
            ],
        }
        body = self._json(await self._call("POST", "composite", body=payload))
        return [
            CompositeResponse(
                reference_id=str(item["referenceId"]),
                status_code=int(item["httpStatusCode"]),
                body=item.get("body"),
                headers=item.get("httpHeaders") or {},
            )
            for item in body["compositeResponse"]
        ]

    async def create_many(
        self, sobject: str, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[SaveResult]:
        """Create records of one object through sObject Collections, 200 per call.

        Per-record refusals come back as unsuccessful results; with `all_or_none` (at most
        200 records) one refusal rolls back all.
        """
        return await self._save_all("POST", "composite/sobjects", sobject, records, all_or_none)

    async def update_many(
        self, sobject: str, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[SaveResult]:
        """Update records of one object (each carrying its "Id") through sObject Collections."""
        return await self._save_all("PATCH", "composite/sobjects", sobject, records, all_or_none)

    async def upsert_many(
        self,
        sobject: str,
        external_field: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
    ) -> list[SaveResult]:
        """Upsert records of one object by `external_field`; results say which were created."""
        path = f"composite/sobjects/{sobject}/{_segment(external_field)}"
        return await self._save_all("PATCH", path, sobject, records, all_or_none)

    async def delete_many(
        self, record_ids: Sequence[str], *, all_or_none: bool = False
    ) -> list[SaveResult]:
        """Delete records by id through sObject Collections."""
        results: list[SaveResult] = []
        for chunk in _chunks(record_ids, all_or_none):
            params = {"ids": ",".join(chunk), "allOrNone": str(all_or_none).lower()}
            response = await self._call("DELETE", "composite/sobjects", params)
            results.extend(SaveResult.from_wire(r) for r in self._json(response))
        return results

    async def retrieve_many(
        self, sobject: str, record_ids: Sequence[str], fields: Sequence[str]
    ) -> list[SObjectRecord | None]:
        """Read records of one object by id; None where an id names no record."""
        payload = {"ids": list(record_ids), "fields": list(fields)}
        response = await self._call("POST", f"composite/sobjects/{sobject}", body=payload)
        return [None if r is None else SObjectRecord.from_wire(r) for r in self._json(response)]

    async def _save_all(
        self,
        method: str,
        path: str,
        sobject: str,
        records: Sequence[Mapping[str, Any]],
        all_or_none: bool,
    ) -> list[SaveResult]:
        results: list[SaveResult] = []
        for chunk in _chunks(records, all_or_none):
            payload = {
                "allOrNone": all_or_none,
                "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
            }
            response = await self._call(method, path, body=payload)
            results.extend(SaveResult.from_wire(r) for r in self._json(response))
        return results

    # -- plumbing ------------------------------------------------------------

    async def _login(self) -> tuple[str, str]:
        async with self._login_lock:
            if self._token is not None and self._instance_url is not None:
                return self._token, self._instance_url
            form = {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            }
            try:
                response = await self._http.post("/services/oauth2/token", data=form)
            except httpx.HTTPError as exc:
                raise from_transport(exc) from exc
            if response.status_code != httpx.codes.OK:
                raise from_auth_response(response)
            body = self._json(response)
            self._token = str(body["access_token"])
            self._instance_url = str(body["instance_url"]).rstrip("/")
            return self._token, self._instance_url

    async def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        raw: tuple[bytes, str] | None = None,
    ) -> httpx.Response:
        for attempt in range(2):
            self._limit.check()
            token, instance = await self._login()
            url = (
                f"{instance}{path}"
                if path.startswith("/services/")
                else f"{instance}/services/data/v{self._api_version}/{path}"
            )
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                **self._call_options,
            }
            content = None
            if body is not None:
                content = _json_text(body).encode()
                headers["Content-Type"] = "application/json"
            elif raw is not None:
                content, headers["Content-Type"] = raw
            try:
                response = await self._http.request(
                    method, url, params=params, content=content, headers=headers
                )
            except httpx.HTTPError as exc:
                raise from_transport(exc) from exc
            self._limit.observe(response.headers)
            if response.status_code < httpx.codes.MULTIPLE_CHOICES:
                return response
            if attempt == 0 and _session_expired(response):
                await self._forget(token)
                continue
            raise self._failure(response)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _failure(self, response: httpx.Response) -> ConnectorError:
        """The error for a failed answer; REQUEST_LIMIT_EXCEEDED also starts the pause."""
        error = from_response(response)
        if LIMIT_EXCEEDED not in error_codes(response):
            return error
        retry_after = response.headers.get("Retry-After")
        return self._limit.exceeded(retry_after, error.message, response.status_code)

    async def _forget(self, token: str) -> None:
        async with self._login_lock:
            # Another task may already have logged in again; keep its fresh token.
            if self._token == token:
                self._token = None

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise unreadable(response) from exc


def _chunks(items: Sequence[_T], all_or_none: bool) -> list[Sequence[_T]]:
    if all_or_none and len(items) > MAX_COLLECTION:
        # Splitting would break the promise that all records stand or fall together.
        raise ValueError(f"all_or_none takes at most {MAX_COLLECTION} records per call")
    return [items[i : i + MAX_COLLECTION] for i in range(0, len(items), MAX_COLLECTION)]


def _segment(value: str) -> str:
    return quote(value, safe="")


def _session_expired(response: httpx.Response) -> bool:
    if response.status_code != httpx.codes.UNAUTHORIZED:
        return False
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return (
        isinstance(body, list)
        and bool(body)
        and isinstance(body[0], dict)
        and body[0].get("errorCode") == "INVALID_SESSION_ID"
    )
