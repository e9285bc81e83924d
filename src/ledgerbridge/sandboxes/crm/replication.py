"""The replication API: ids of records updated or deleted in a time window, for polling sync.

    GET /services/data/v59.0/sobjects/Account/updated/?start=...&end=...
    GET /services/data/v59.0/sobjects/Account/deleted/?start=...&end=...

As in Salesforce, the window must lie within the last 30 days and `latestDateCovered` is the
end rounded down to the minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from starlette.responses import Response

from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.records import resolve_type
from ledgerbridge.sandboxes.crm.routing import json_response, route
from ledgerbridge.sandboxes.crm.state import SandboxState
from ledgerbridge.sandboxes.crm.values import format_datetime, parse_datetime

WINDOW = timedelta(days=30)


def _window(state: SandboxState, start: str, end: str) -> tuple[datetime, datetime]:
    try:
        first, last = parse_datetime(start), parse_datetime(end)
    except ValueError as exc:
        raise SalesforceError(
            400, "INVALID_REPLICATION_DATE", f"start and end must be ISO 8601: {exc}"
        ) from exc
    now = state.store.clock()
    if last < first:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", "end is before start")
    if first < now - WINDOW:
        raise SalesforceError(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate cannot be more than 30 days ago",
        )
    return first, min(last, now).replace(second=0, microsecond=0)


def routes(state: SandboxState) -> APIRouter:
    """The updated/deleted endpoints; mounted before the record routes they shadow."""
    router = APIRouter()
    base = "/services/data/v{version}/sobjects/{name}"

    @route(router, base + "/updated", ["GET"])
    async def updated(version: str, name: str, start: str, end: str) -> Response:
        """Ids of records changed between start and end."""
        sobject_type = resolve_type(name)
        first, covered = _window(state, start, end)
        ids = [
            r["Id"]
            for r in state.store.all_of(sobject_type.name)
            if first <= parse_datetime(r["SystemModstamp"]) <= covered
        ]
        return json_response({"ids": ids, "latestDateCovered": format_datetime(covered)})

    @route(router, base + "/deleted", ["GET"])
    async def deleted(version: str, name: str, start: str, end: str) -> Response:
        """Records deleted between start and end, with when."""
        sobject_type = resolve_type(name)
        first, covered = _window(state, start, end)
        gone = [
            {"id": r["Id"], "deletedDate": r["SystemModstamp"]}
            for r in state.store.all_of(sobject_type.name, include_deleted=True)
            if r.get("IsDeleted") and first <= parse_datetime(r["SystemModstamp"]) <= covered
        ]
        earliest = state.store.clock() - WINDOW
        return json_response(
            {
                "deletedRecords": gone,
                "earliestDateAvailable": format_datetime(earliest.replace(second=0, microsecond=0)),
                "latestDateCovered": format_datetime(covered),
            }
        )

    return router
