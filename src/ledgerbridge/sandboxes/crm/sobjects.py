"""sObject REST: create, read, update, delete, upsert and lookup by external id."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ledgerbridge.sandboxes.crm.operations import Operations, Outcome
from ledgerbridge.sandboxes.crm.routing import field_list, json_object, json_response, route

BASE = "/services/data/v{version}/sobjects/{name}"


def respond(outcome: Outcome) -> Response:
    """The HTTP response for an operation's outcome."""
    if outcome.body is None:
        return Response(status_code=outcome.status)
    return json_response(outcome.body, outcome.status)


def routes(ops: Operations) -> APIRouter:
    """The record endpoints of one sandbox."""
    router = APIRouter()

    @route(router, BASE, ["POST"])
    async def create(version: str, name: str, request: Request) -> Response:
        """Create a record."""
        return respond(ops.create(version, name, await json_object(request)))

    @route(router, BASE + "/{record_id}", ["GET"])
    async def get(version: str, name: str, record_id: str, fields: str | None = None) -> Response:
        """Read a record, optionally only some fields."""
        return respond(ops.get(version, name, record_id, field_list(fields)))

    @route(router, BASE + "/{record_id}", ["PATCH"])
    async def update(version: str, name: str, record_id: str, request: Request) -> Response:
        """Change some fields of a record."""
        return respond(ops.update(version, name, record_id, await json_object(request)))

    @route(router, BASE + "/{record_id}", ["DELETE"])
    async def delete(version: str, name: str, record_id: str) -> Response:
        """Delete a record."""
        return respond(ops.delete(version, name, record_id))

    @route(router, BASE + "/{field_name}/{value}", ["GET"])
    async def get_by_external_id(
        version: str, name: str, field_name: str, value: str, fields: str | None = None
    ) -> Response:
        """Read the record whose external id field has `value`."""
        return respond(ops.get_by_external_id(version, name, field_name, value, field_list(fields)))

    @route(router, BASE + "/{field_name}/{value}", ["PATCH"])
    async def upsert(
        version: str, name: str, field_name: str, value: str, request: Request
    ) -> Response:
        """Create or update the record whose external id field has `value`."""
        body = await json_object(request)
        return respond(ops.upsert(version, name, field_name, value, body))

    return router
