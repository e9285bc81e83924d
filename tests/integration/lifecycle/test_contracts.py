"""The breaking-change gate and the OpenAPI linter, on copies of real APIs and on our own."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, create_model

from ledgerbridge.apis.system.crm_orders.client import OrderLinePage, OrderSummary
from ledgerbridge.apis.system.ids import SALESFORCE_ID
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.versioning import (
    ContractState,
    Severity,
    breaking_changes,
    check_contracts,
    lint_openapi,
    write_snapshots,
)

REPO = Path(__file__).parents[3]
COPY = ApiMetadata(
    name="crm-orders-copy", layer=Layer.SYSTEM, version=2, owner="t", summary="A copy."
)


def _without(model: type[BaseModel], field: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in model.model_fields.items() if name != field
    }
    return create_model(f"{model.__name__}Changed", **fields)


def _crm_orders_copy(
    summary: type[BaseModel] = OrderSummary,
    *,
    extra_query: bool = False,
    required_query: bool = False,
) -> FastAPI:
    """The routes and models of crm-orders v2, as a separate API that tests may change."""
    router = APIRouter()

    @router.get("/orders/{order_id}", response_model=summary)
    async def get_order(order_id: str = PathParam(pattern=SALESFORCE_ID)) -> Any:
        """One CRM order."""

    if required_query:

        @router.get("/orders/{order_id}/lines")
        async def list_lines_required(
            order_id: str, offset: int = 0, limit: int = 50, channel: str = Query()
        ) -> OrderLinePage:
            """One page of lines."""
            raise NotImplementedError
    else:

        @router.get("/orders/{order_id}/lines")
        async def list_lines(
            order_id: str,
            offset: int = Query(0, ge=0),
            limit: int = Query(50, ge=1, le=200),
            since: int | None = Query(None) if extra_query else None,
        ) -> OrderLinePage:
            """One page of lines."""
            raise NotImplementedError

    return build_api(COPY, routers=[router])


def _gate(before: FastAPI, after: FastAPI, root: Path) -> tuple[ContractState, list[str]]:
    write_snapshots({COPY.base_path: before.openapi()}, root)
    (check,) = check_contracts({COPY.base_path: after.openapi()}, root)
    return check.state, [change.rule for change in check.changes]


def test_removing_a_response_field_from_a_copy_of_an_api_fails_the_gate(tmp_path: Path) -> None:
    """Dropping po_number from crm-orders v2's order is a breaking change: the gate fails."""
    state, rules = _gate(
        _crm_orders_copy(), _crm_orders_copy(_without(OrderSummary, "po_number")), tmp_path
    )
    assert state is ContractState.BREAKING
    assert state.fails
    assert rules == ["response-property-removed"]


def test_a_new_required_query_parameter_fails_the_gate(tmp_path: Path) -> None:
    """A query parameter every caller must now send breaks them all."""
    state, rules = _gate(_crm_orders_copy(), _crm_orders_copy(required_query=True), tmp_path)
    assert state is ContractState.BREAKING
    assert "parameter-added-required" in rules


def test_an_added_optional_parameter_and_response_field_pass_the_gate(tmp_path: Path) -> None:
    """A new optional query parameter and a new response field are compatible: the gate passes."""
    extended = create_model(
        "OrderSummaryExtended", __base__=OrderSummary, channel=(str | None, None)
    )
    state, rules = _gate(_crm_orders_copy(), _crm_orders_copy(extended, extra_query=True), tmp_path)
    assert (state, rules) == (ContractState.COMPATIBLE, [])
    assert not state.fails


def test_a_snapshot_no_api_serves_fails_and_a_new_version_does_not(tmp_path: Path) -> None:
    """Dropping a version needs its snapshot removed deliberately; a new version just reports."""
    write_snapshots({COPY.base_path: _crm_orders_copy().openapi()}, tmp_path)
    checks = check_contracts({"/system/crm-orders-copy/v3": {}}, tmp_path)
    states = {c.base_path: c.state for c in checks}
    assert states == {
        "/system/crm-orders-copy/v3": ContractState.NO_SNAPSHOT,
        "/system/crm-orders-copy/v2": ContractState.NOT_SERVED,
    }
    assert [s.fails for s in states.values()] == [False, True]


def _doc(schema: dict[str, Any], *, body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "responses": {"200": {"content": {"application/json": {"schema": schema}}}}
    }
    if body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return {"openapi": "3.1.0", "paths": {"/x": {"post": op}}}


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ({"type": "number"}, {"type": "integer"}, "request-type-narrowed"),
        ({"enum": ["a", "b"]}, {"enum": ["a"]}, "request-enum-narrowed"),
        (
            {"anyOf": [{"type": "string"}, {"type": "null"}]},
            {"type": "string"},
            "request-type-narrowed",
        ),
    ],
)
def test_narrowing_what_a_client_may_send_is_breaking(
    old: dict[str, Any], new: dict[str, Any], rule: str
) -> None:
    """A request field accepting fewer values than before breaks its senders."""
    body = {"type": "object", "properties": {"f": old}}
    changed = {"type": "object", "properties": {"f": new}}
    found = breaking_changes(_doc({}, body=body), _doc({}, body=changed))
    assert [c.rule for c in found] == [rule]
    assert breaking_changes(_doc({}, body=changed), _doc({}, body=body)) == []


def test_a_newly_required_request_field_and_a_changed_response_enum_are_breaking() -> None:
    """New required input and a response value clients never saw both break them."""
    old = _doc(
        {"type": "object", "properties": {"s": {"enum": ["open"]}}, "required": ["s"]},
        body={"type": "object", "properties": {"a": {"type": "string"}}},
    )
    new = _doc(
        {"type": "object", "properties": {"s": {"enum": ["open", "held"]}}},
        body={"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
    )
    assert sorted(c.rule for c in breaking_changes(old, new)) == [
        "request-property-required",
        "response-enum-widened",
        "response-property-optional",
    ]


def test_the_linter_flags_a_bare_list_missing_problem_json_and_generated_ids() -> None:
    """A list answered as a bare array, with a plain-JSON 404 and a generated id, breaks 3 rules."""
    doc = {
        "paths": {
            "/things": {
                "get": {
                    "operationId": "list_things_things__get",
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"type": "array"}}}},
                        "404": {"content": {"application/json": {}}},
                    },
                }
            }
        }
    }
    errors = sorted(f.rule for f in lint_openapi(doc) if f.severity is Severity.ERROR)
    assert errors == ["operation-id", "paging", "problem-json"]


def test_a_page_without_limit_is_flagged_and_crm_orders_v2_lines_pass() -> None:
    """Paged lines need limit and offset: the copy of crm-orders passes, one without limit fails."""
    doc = _crm_orders_copy().openapi()
    assert [f for f in lint_openapi(doc) if f.severity is Severity.ERROR] == []
    lines = doc["paths"]["/orders/{order_id}/lines"]["get"]
    lines["parameters"] = [p for p in lines["parameters"] if p["name"] != "limit"]
    assert [f.rule for f in lint_openapi(doc) if f.severity is Severity.ERROR] == ["paging"]


async def _cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ledgerbridge",
        "contracts",
        *args,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode()


async def test_every_api_in_the_repository_keeps_its_snapshot_and_our_rules() -> None:
    """`contracts check` and `contracts lint` pass on the repository as committed."""
    code, out = await _cli("check")
    assert code == 0, out
    assert "crm-orders/v2" in out
    code, out = await _cli("lint")
    assert code == 0, out


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        (
            "system/crm-orders",
            {("GET /orders/{order_id} response 200.lines", "response-property-removed")},
        ),
        ("experience/customer-portal", {("/orders/{order_id}/status", "path-removed")}),
    ],
)
def test_v2_of_each_side_by_side_api_is_a_genuine_breaking_change(
    api: str, expected: set[tuple[str, str]]
) -> None:
    """Read against the v1 snapshot, v2 breaks v1 clients: hence a new major version."""
    v1, v2 = (json.loads((REPO / "openapi" / api / f"v{n}.json").read_text()) for n in (1, 2))
    assert expected <= {(c.where, c.rule) for c in breaking_changes(v1, v2)}
