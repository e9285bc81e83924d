"""SOQL over REST: /query, /queryAll, and the batches that nextRecordsUrl links."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.operations import DEFAULT_BATCH, Operations
from ledgerbridge.sandboxes.crm.routing import json_response, route
from ledgerbridge.sandboxes.crm.sobjects import respond

MIN_BATCH = 200


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    if match is None:
        return DEFAULT_BATCH
    return min(max(int(match.group(1)), MIN_BATCH), DEFAULT_BATCH)


def routes(ops: Operations) -> APIRouter:
    """The query endpoints of one sandbox."""
    router = APIRouter()

    @route(router, "/services/data/v{version}/query", ["GET"])
    async def query(version: str, request: Request, q: str | None = None) -> Response:
        """Run a SOQL query; results come in batches linked by nextRecordsUrl."""
        return respond(ops.query(version, q, _batch_size(request)))

    @route(router, "/services/data/v{version}/queryAll", ["GET"])
    async def query_all(version: str, request: Request, q: str | None = None) -> Response:
        """Run a SOQL query that also sees deleted records in the recycle bin."""
        return respond(ops.query(version, q, _batch_size(request), include_deleted=True))

    @route(router, "/services/data/v{version}/query/{locator}", ["GET"])
    @route(router, "/services/data/v{version}/queryAll/{locator}", ["GET"])
    async def more(version: str, locator: str) -> Response:
        """Return the next batch of an earlier query."""
        key, _, start = locator.rpartition("-")
        cursor = ops.state.cursors.get(key)
        if cursor is None or not start.isdigit():
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return json_response(ops.page(version, cursor, int(start), key))

    return router
