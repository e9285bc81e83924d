"""Our OpenAPI ruleset, checked on every API's live document (run in CI).

Errors fail the build; warnings are printed. The rules:

- ``operation-id`` (error): every operation has an operationId in snake case, unique in
  its document (FastAPI's default ids, with ``__``, change when a handler is renamed).
- ``problem-json`` (error): every operation declares its 4xx answers, and every 4xx or 5xx
  answer offers ``application/problem+json``.
- ``paging`` (error): a GET never answers a bare array; a GET answering a page (an object
  with an ``items`` array) accepts ``limit`` and ``offset`` or ``cursor``.
- ``examples`` (warning): request bodies and parameters carry an example.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ledgerbridge.runtime.problems import PROBLEM_MEDIA_TYPE

__all__ = ["LintFinding", "Severity", "lint_openapi"]

_METHODS = ("get", "put", "post", "delete", "patch")
_OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class Severity(enum.StrEnum):
    """Whether a finding fails the build."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One rule an operation breaks."""

    where: str
    rule: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message} [{self.rule}]"


def _resolve(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target: Any = doc
    for step in ref.removeprefix("#/").split("/"):
        target = target.get(step, {})
    return _resolve(doc, target)


def _has_example(doc: Mapping[str, Any], holder: Mapping[str, Any]) -> bool:
    if "example" in holder or "examples" in holder:
        return True
    schema = _resolve(doc, holder.get("schema", holder))
    if "example" in schema or "examples" in schema:
        return True
    properties = [_resolve(doc, p) for p in schema.get("properties", {}).values()]
    return bool(properties) and all("example" in p or "examples" in p for p in properties)


def _operation_id(op: Mapping[str, Any], seen: set[str]) -> Iterator[tuple[str, str]]:
    op_id = op.get("operationId")
    if not op_id:
        yield "operation-id", "no operationId"
    elif not _OPERATION_ID.match(op_id):
        yield "operation-id", f"operationId {op_id!r} is not plain snake case"
    elif op_id in seen:
        yield "operation-id", f"operationId {op_id!r} used twice"
    seen.add(op_id or "")


def _problem_json(op: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    responses = op.get("responses", {})
    if not any(str(status).startswith("4") for status in responses):
        yield "problem-json", "declares no 4xx answer"
    for status, response in responses.items():
        if str(status)[0] in "45" and PROBLEM_MEDIA_TYPE not in response.get("content", {}):
            yield "problem-json", f"{status} is not {PROBLEM_MEDIA_TYPE}"


def _paging(doc: Mapping[str, Any], op: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    responses = op.get("responses", {})
    ok: Mapping[str, Any] = next((r for s, r in responses.items() if str(s).startswith("2")), {})
    schema = _resolve(doc, ok.get("content", {}).get("application/json", {}).get("schema", {}))
    params = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    items = _resolve(doc, schema.get("properties", {}).get("items", {}))
    if schema.get("type") == "array":
        yield "paging", "answers a bare array; answer a page with items"
    elif items.get("type") == "array" and (
        "limit" not in params or not params & {"offset", "cursor"}
    ):
        yield "paging", "a page needs limit and offset or cursor"


def _examples(doc: Mapping[str, Any], op: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for param in op.get("parameters", []):
        if not _has_example(doc, param):
            yield "examples", f"parameter {param['name']} has no example"
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and not _has_example(doc, body):
        yield "examples", "request body has no example"


def lint_openapi(doc: Mapping[str, Any]) -> list[LintFinding]:
    """Every finding of our ruleset on one OpenAPI document, errors and warnings."""
    findings: list[LintFinding] = []
    seen_ids: set[str] = set()
    for path, item in doc.get("paths", {}).items():
        for method in _METHODS:
            if method not in item:
                continue
            op, where = item[method], f"{method.upper()} {path}"
            errors = [*_operation_id(op, seen_ids), *_problem_json(op)]
            if method == "get":
                errors += _paging(doc, op)
            findings += [LintFinding(where, r, Severity.ERROR, m) for r, m in errors]
            findings += [LintFinding(where, r, Severity.WARNING, m) for r, m in _examples(doc, op)]
    return findings
