"""Composite resources: /composite (chained subrequests) and /composite/sobjects (collections).

Both run synchronously inside one store transaction, so allOrNone can roll everything back and
no other request interleaves with a batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.ids import normalise_id
from ledgerbridge.sandboxes.crm.objects import BY_PREFIX
from ledgerbridge.sandboxes.crm.operations import Operations, Outcome
from ledgerbridge.sandboxes.crm.records import record_url, resolve_type
from ledgerbridge.sandboxes.crm.routing import json_body, json_object, json_response, route

MAX_SUBREQUESTS = 25
MAX_RECORDS = 200
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}

Row = dict[str, Any]


class _Unresolved(Exception):
    """A @{reference} names a subrequest or a value that does not exist (yet)."""


class _RollBack(Exception):
    """Raised inside the batch transaction to undo it."""


def _lookup(results: dict[str, Any], name: str, path: str) -> Any:
    if name not in results:
        raise _Unresolved(f"{name}{path}")
    value = results[name]
    for key, index in _STEP.findall(path):
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise _Unresolved(f"{name}{path}") from exc
    return value


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    """`value` with every @{ref.path} replaced by what that earlier subrequest returned."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:  # a lone reference keeps the referenced value's JSON type
            return _lookup(results, whole.group(1), whole.group(2))
        return _REFERENCE.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    return value


def _bad_request(message: str, code: str = "JSON_PARSER_ERROR") -> SalesforceError:
    return SalesforceError(400, code, message)


def _subrequests(payload: Row) -> list[Row]:
    subrequests = payload.get("compositeRequest")
    if not isinstance(subrequests, list) or not subrequests:
        raise _bad_request("compositeRequest must be a non-empty list of subrequests")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise _bad_request(
            f"Maximum number of subrequests exceeded: {len(subrequests)} > {MAX_SUBREQUESTS}",
            "LIMIT_EXCEEDED",
        )
    seen: set[str] = set()
    for sub in subrequests:
        if not isinstance(sub, dict) or not all(
            isinstance(sub.get(k), str) for k in ("method", "url", "referenceId")
        ):
            raise _bad_request("Each subrequest needs method, url and referenceId")
        if sub["referenceId"] in seen:
            raise _bad_request(f"Duplicate referenceId: {sub['referenceId']}", "INVALID_INPUT")
        seen.add(sub["referenceId"])
    return subrequests


def run_composite(ops: Operations, payload: Row) -> list[Row]:
    """Run chained subrequests; their responses in order."""
    subrequests = _subrequests(payload)
    all_or_none = bool(payload.get("allOrNone", False))
    results: dict[str, Any] = {}
    outcomes: list[Outcome] = []
    try:
        with ops.state.store.transaction():
            for sub in subrequests:
                try:
                    url = _resolve(sub["url"], results)
                    body = _resolve(sub.get("body"), results)
                except _Unresolved as missing:
                    outcome = Outcome(
                        400,
                        [
                            {
                                "errorCode": "PROCESSING_HALTED",
                                "message": f"Invalid reference specified. No value for {missing} "
                                f"found in {sub['referenceId']}",
                            }
                        ],
                    )
                else:
                    outcome = ops.dispatch(sub["method"], str(url), body)
                outcomes.append(outcome)
                if outcome.status < 300 and outcome.body is not None:
                    results[sub["referenceId"]] = outcome.body
                if outcome.status >= 400 and all_or_none:
                    raise _RollBack
    except _RollBack:
        halted = Outcome(400, [{"errorCode": "PROCESSING_HALTED", "message": _HALTED}])
        failed = len(outcomes) - 1
        outcomes = [outcomes[i] if i == failed else halted for i in range(len(subrequests))]
    responses = []
    for sub, outcome in zip(subrequests, outcomes, strict=True):
        headers: dict[str, str] = {}
        if outcome.status == 201 and isinstance(outcome.body, dict):
            name = str(sub["url"]).rstrip("/").split("/sobjects/")[-1].split("/")[0]
            headers["Location"] = record_url(
                ops.state.settings.api_version, name, str(outcome.body.get("id"))
            )
        responses.append(
            {
                "body": outcome.body,
                "httpHeaders": headers,
                "httpStatusCode": outcome.status,
                "referenceId": sub["referenceId"],
            }
        )
    return responses


def _save_error(exc: SalesforceError) -> Row:
    return {"statusCode": exc.error_code, "message": exc.message, "fields": exc.fields or []}


def _collection(
    ops: Operations, items: list[Any], all_or_none: bool, save: Callable[[Any], Row]
) -> list[Row]:
    """Apply `save` to each item; a failed item reports its errors, allOrNone undoes them all."""
    if len(items) > MAX_RECORDS:
        raise _bad_request(
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
            "EXCEEDED_ID_LIMIT",
        )
    results: list[Row] = []
    try:
        with ops.state.store.transaction():
            for item in items:
                try:
                    results.append({**save(item), "success": True, "errors": []})
                except SalesforceError as exc:
                    results.append({"success": False, "errors": [_save_error(exc)]})
            if all_or_none and not all(r["success"] for r in results):
                raise _RollBack
    except _RollBack:
        results = [
            r
            if not r["success"]
            else {"id": r.get("id"), "success": False, "errors": [_ROLLED_BACK]}
            for r in results
        ]
    return results


def _records(payload: Row) -> list[Any]:
    records = payload.get("records")
    if not isinstance(records, list):
        raise _bad_request("records must be a list")
    return records


def _typed(record: Any) -> tuple[str, Row]:
    if not isinstance(record, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "each record must be a JSON object")
    attributes = record.get("attributes")
    if not isinstance(attributes, dict) or not isinstance(attributes.get("type"), str):
        raise SalesforceError(
            400, "INVALID_TYPE", "Each record needs attributes.type naming its sObject"
        )
    fields = {k: v for k, v in record.items() if k not in ("attributes",)}
    return attributes["type"], fields


def _type_of(record_id: str) -> str:
    normal = normalise_id(record_id)
    sobject_type = BY_PREFIX.get(record_id[:3]) if normal else None
    if sobject_type is None:
        raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}")
    return sobject_type.name


def routes(ops: Operations) -> APIRouter:
    """The composite endpoints of one sandbox."""
    router = APIRouter()
    records = ops.records
    base = "/services/data/v{version}/composite"

    @route(router, base, ["POST"])
    async def composite(version: str, request: Request) -> Response:
        """Run up to 25 subrequests, later ones referring to earlier results."""
        payload = await json_object(request)
        return json_response({"compositeResponse": run_composite(ops, payload)})

    @route(router, base + "/sobjects", ["POST"])
    async def create_many(version: str, request: Request) -> Response:
        """Create up to 200 records of any objects."""
        payload = await json_object(request)

        def save(record: Any) -> Row:
            name, fields = _typed(record)
            return {"id": records.create(resolve_type(name), fields)}

        return json_response(
            _collection(ops, _records(payload), bool(payload.get("allOrNone")), save)
        )

    @route(router, base + "/sobjects", ["PATCH"])
    async def update_many(version: str, request: Request) -> Response:
        """Update up to 200 records, each naming its id."""
        payload = await json_object(request)

        def save(record: Any) -> Row:
            name, fields = _typed(record)
            record_id = fields.pop("id", None) or fields.pop("Id", None)
            if not isinstance(record_id, str):
                raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update")
            records.update(resolve_type(name), record_id, fields)
            return {"id": records.load(resolve_type(name), record_id)["Id"]}

        return json_response(
            _collection(ops, _records(payload), bool(payload.get("allOrNone")), save)
        )

    @route(router, base + "/sobjects/{name}/{field_name}", ["PATCH"])
    async def upsert_many(version: str, name: str, field_name: str, request: Request) -> Response:
        """Upsert up to 200 records of one object by an external id field."""
        payload = await json_object(request)
        sobject_type = resolve_type(name)

        def save(record: Any) -> Row:
            _, fields = _typed(record)
            key = next((v for k, v in fields.items() if k.lower() == field_name.lower()), None)
            if key is None:
                raise SalesforceError(
                    400, "MISSING_ARGUMENT", f"{field_name} not specified", [field_name]
                )
            record_id, created = records.upsert(sobject_type, field_name, str(key), fields)
            return {"id": record_id, "created": created}

        return json_response(
            _collection(ops, _records(payload), bool(payload.get("allOrNone")), save)
        )

    @route(router, base + "/sobjects", ["DELETE"])
    async def delete_many(version: str, ids: str = "", allOrNone: bool = False) -> Response:  # noqa: N803 - Salesforce's parameter name
        """Delete up to 200 records by id."""

        def save(record_id: Any) -> Row:
            sobject_type = resolve_type(_type_of(record_id))
            records.delete(sobject_type, record_id)
            return {"id": record_id}

        wanted = [i for i in ids.split(",") if i]
        return json_response(_collection(ops, wanted, allOrNone, save))

    def retrieve(version: str, name: str, ids: list[str], fields: list[str]) -> list[Row | None]:
        sobject_type = resolve_type(name)
        if len(ids) > 2000:
            raise _bad_request("cannot retrieve more than 2000 records", "EXCEEDED_ID_LIMIT")
        if not fields:
            raise SalesforceError(400, "MISSING_ARGUMENT", "fields must be given")
        out: list[Row | None] = []
        for record_id in ids:
            try:
                data = records.load(sobject_type, record_id)
            except SalesforceError:
                out.append(None)
                continue
            out.append(records.render(sobject_type, data, version, fields))
        return out

    @route(router, base + "/sobjects/{name}", ["GET"])
    async def retrieve_get(version: str, name: str, ids: str = "", fields: str = "") -> Response:
        """Read several records of one object by id."""
        wanted = [i for i in ids.split(",") if i]
        return json_response(retrieve(version, name, wanted, [f for f in fields.split(",") if f]))

    @route(router, base + "/sobjects/{name}", ["POST"])
    async def retrieve_post(version: str, name: str, request: Request) -> Response:
        """Read several records of one object by id, ids and fields in the body."""
        payload = await json_body(request)
        if not isinstance(payload, dict):
            raise _bad_request("body must be a JSON object with ids and fields")
        ids, fields = payload.get("ids") or [], payload.get("fields") or []
        return json_response(
            retrieve(version, name, [str(i) for i in ids], [str(f) for f in fields])
        )

    return router
