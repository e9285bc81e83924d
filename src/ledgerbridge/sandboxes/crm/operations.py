"""The record and query operations as plain synchronous calls, shared by REST and composite.

Running them without awaiting keeps a composite request's subrequests in one uninterrupted
transaction: no other request can interleave its writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ledgerbridge.sandboxes.crm.errors import MultipleChoices, SalesforceError, not_found
from ledgerbridge.sandboxes.crm.query import Executor
from ledgerbridge.sandboxes.crm.records import record_url, resolve_type
from ledgerbridge.sandboxes.crm.soql import parse
from ledgerbridge.sandboxes.crm.state import Cursor, SandboxState

DEFAULT_BATCH = 2000
_DATA_PATH = re.compile(r"^/services/data/v(\d+\.\d)/(.+?)/?$")


@dataclass(frozen=True)
class Outcome:
    """What an operation answers: a status and a JSON body (None for no content)."""

    status: int
    body: Any = None


def error_outcome(exc: SalesforceError, version: str) -> Outcome:
    """The response Salesforce gives for `exc`."""
    if isinstance(exc, MultipleChoices):
        return Outcome(300, [record_url(version, exc.type_name, i) for i in exc.ids])
    return Outcome(exc.status, exc.body())


class Operations:
    """Records and queries of one sandbox, called with already-parsed arguments."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.records = state.records

    def create(self, version: str, name: str, body: dict[str, Any]) -> Outcome:
        """Create a record."""
        record_id = self.records.create(resolve_type(name), body)
        return Outcome(201, {"id": record_id, "success": True, "errors": []})

    def get(self, version: str, name: str, record_id: str, fields: list[str] | None) -> Outcome:
        """Read a record."""
        sobject_type = resolve_type(name)
        data = self.records.load(sobject_type, record_id)
        return Outcome(200, self.records.render(sobject_type, data, version, fields))

    def update(self, version: str, name: str, record_id: str, body: dict[str, Any]) -> Outcome:
        """Change some fields of a record."""
        self.records.update(resolve_type(name), record_id, body)
        return Outcome(204)

    def delete(self, version: str, name: str, record_id: str) -> Outcome:
        """Delete a record."""
        self.records.delete(resolve_type(name), record_id)
        return Outcome(204)

    def get_by_external_id(
        self, version: str, name: str, field_name: str, value: str, fields: list[str] | None
    ) -> Outcome:
        """Read the one record whose external id field has `value`."""
        sobject_type = resolve_type(name)
        field, matches = self.records.find_external(sobject_type, field_name, value)
        if not matches:
            raise not_found()
        if len(matches) > 1:
            raise MultipleChoices(
                f"More than one record found for external id field {field.name}: {value}",
                sobject_type.name,
                [m["Id"] for m in matches],
            )
        return Outcome(200, self.records.render(sobject_type, matches[0], version, fields))

    def upsert(
        self, version: str, name: str, field_name: str, value: str, body: dict[str, Any]
    ) -> Outcome:
        """Create or update the record whose external id field has `value`."""
        record_id, created = self.records.upsert(resolve_type(name), field_name, value, body)
        if not created:
            return Outcome(204)
        return Outcome(201, {"id": record_id, "success": True, "errors": [], "created": True})

    def query(
        self,
        version: str,
        soql: str | None,
        batch: int = DEFAULT_BATCH,
        *,
        include_deleted: bool = False,
    ) -> Outcome:
        """Run SOQL; the first batch, with nextRecordsUrl when more remain."""
        if soql is None:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string is required (q=)")
        executor = Executor(self.records, version, datetime.now(UTC).date())
        total, rows = executor.run(parse(soql), include_deleted=include_deleted)
        resource = "queryAll" if include_deleted else "query"
        cursor = Cursor(rows, total, batch, resource)
        return Outcome(200, self.page(version, cursor, 0, None))

    def page(self, version: str, cursor: Cursor, start: int, key: str | None) -> dict[str, Any]:
        """One batch of a query result, remembering the cursor while batches remain."""
        stop = start + cursor.batch
        body: dict[str, Any] = {"totalSize": cursor.total, "done": stop >= len(cursor.rows)}
        if not body["done"]:
            key = key or self.state.new_locator()
            self.state.cursors[key] = cursor
            body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.resource}/{key}-{stop}"
        elif key is not None:
            self.state.cursors.pop(key, None)
        body["records"] = cursor.rows[start:stop]
        return body

    def dispatch(self, method: str, url: str, body: Any) -> Outcome:
        """Run the operation a REST method and URL name, as a composite subrequest does."""
        split = urlsplit(url)
        match = _DATA_PATH.match(split.path)
        version = self.state.settings.api_version
        try:
            if match is None:
                raise not_found()
            version = match.group(1)
            parts = [unquote(p) for p in match.group(2).split("/")]
            params = {k: v[0] for k, v in parse_qs(split.query).items()}
            return self._route(method.upper(), version, parts, params, body)
        except SalesforceError as exc:
            return error_outcome(exc, version)

    def _route(
        self,
        method: str,
        version: str,
        parts: list[str],
        params: dict[str, str],
        body: Any,
    ) -> Outcome:
        fields = [f for f in params.get("fields", "").split(",") if f] or None
        if parts[0] in ("query", "queryAll") and len(parts) == 1 and method == "GET":
            return self.query(version, params.get("q"), include_deleted=parts[0] == "queryAll")
        if parts[0] != "sobjects" or len(parts) not in (2, 3, 4):
            raise not_found()
        if method in ("POST", "PATCH") and not isinstance(body, dict):
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values"
            )
        name = parts[1]
        if len(parts) == 2 and method == "POST":
            return self.create(version, name, body)
        if len(parts) == 3:
            if method == "GET":
                return self.get(version, name, parts[2], fields)
            if method == "PATCH":
                return self.update(version, name, parts[2], body)
            if method == "DELETE":
                return self.delete(version, name, parts[2])
        if len(parts) == 4:
            if method == "GET":
                return self.get_by_external_id(version, name, parts[2], parts[3], fields)
            if method == "PATCH":
                return self.upsert(version, name, parts[2], parts[3], body)
        raise SalesforceError(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET"
        )
