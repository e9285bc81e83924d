"""Breaking changes between two OpenAPI documents of the same major version.

A focused checker for the documents FastAPI writes (OpenAPI 3.1, components referenced by
``$ref``, optional values as ``anyOf [..., null]``). What breaks an existing client:

- a path or operation removed;
- a parameter added as required, made required, removed, or its type narrowed;
- a request body made required; a request property removed, newly required, narrowed,
  or an enum value it accepted withdrawn;
- a success response removed; a response property removed, no longer always present,
  widened to types a client does not expect, or given enum values it does not know.

Direction matters: what the client sends may only widen, what it reads may only narrow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BreakingChange", "breaking_changes"]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# A JSON number accepts every integer, so integer -> number widens and number -> integer narrows.
_WIDER = {"integer": {"number"}}


@dataclass(frozen=True, slots=True)
class BreakingChange:
    """One change that would break a client written against the old document."""

    where: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} [{self.rule}]"


@dataclass(frozen=True, slots=True)
class _Doc:
    raw: Mapping[str, Any]

    def resolve(
        self, schema: Mapping[str, Any] | None, seen: frozenset[str] = frozenset()
    ) -> Mapping[str, Any]:
        """The schema with its ``$ref`` followed and ``allOf`` merged."""
        schema = schema or {}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            target: Any = self.raw
            for step in ref.removeprefix("#/").split("/"):
                target = target.get(step, {})
            return self.resolve(
                {**target, **{k: v for k, v in schema.items() if k != "$ref"}}, seen | {ref}
            )
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for raw_part in schema["allOf"]:
                part = self.resolve(raw_part, seen)
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                for key in ("type", "enum", "items"):
                    if key in part:
                        merged.setdefault(key, part[key])
            return merged
        return schema

    def types(self, schema: Mapping[str, Any]) -> set[str]:
        """The JSON types a schema admits; empty means any."""
        schema = self.resolve(schema)
        declared = schema.get("type")
        if isinstance(declared, str):
            return {declared}
        if isinstance(declared, list):
            return set(declared)
        found: set[str] = set()
        for key in ("anyOf", "oneOf"):
            for option in schema.get(key, []):
                option_types = self.types(option)
                if not option_types:
                    return set()
                found |= option_types
        if not found and "properties" in schema:
            return {"object"}
        return found

    def non_null(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """The one non-null branch of an ``anyOf [X, null]``, else the schema itself."""
        schema = self.resolve(schema)
        options = [o for o in schema.get("anyOf", []) if self.resolve(o).get("type") != "null"]
        return self.resolve(options[0]) if len(options) == 1 else schema


def _admits(types: set[str], other: set[str]) -> bool:
    """Whether a schema of ``types`` accepts every value of one of ``other``."""
    if not types:
        return True
    if not other:
        return False
    return all(t in types or _WIDER.get(t, set()) & types for t in other)


def _compare_schema(
    old_doc: _Doc,
    new_doc: _Doc,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    where: str,
    *,
    reading: bool,
    depth: int = 0,
) -> Iterator[BreakingChange]:
    """Changes to one schema; ``reading`` when the client reads it (a response)."""
    if depth > 12:  # recursive models: deep enough for any change a person makes by hand
        return
    old_types, new_types = old_doc.types(old), new_doc.types(new)
    if reading and not _admits(old_types, new_types):
        yield BreakingChange(
            where, "response-type-widened", f"type {sorted(old_types)} became {sorted(new_types)}"
        )
        return
    if not reading and not _admits(new_types, old_types):
        yield BreakingChange(
            where, "request-type-narrowed", f"type {sorted(old_types)} became {sorted(new_types)}"
        )
        return
    old_s, new_s = old_doc.non_null(old), new_doc.non_null(new)
    old_enum, new_enum = (
        set(map(repr, old_s.get("enum", []))),
        set(map(repr, new_s.get("enum", []))),
    )
    if reading and old_enum and (not new_enum or new_enum - old_enum):
        added = sorted(new_enum - old_enum) if new_enum else "any value"
        yield BreakingChange(where, "response-enum-widened", f"values added: {added}")
    if not reading and new_enum and (not old_enum or old_enum - new_enum):
        withdrawn = sorted(old_enum - new_enum) if old_enum else "all but the listed"
        yield BreakingChange(where, "request-enum-narrowed", f"values withdrawn: {withdrawn}")
    old_props, new_props = old_s.get("properties", {}), new_s.get("properties", {})
    old_req, new_req = set(old_s.get("required", [])), set(new_s.get("required", []))
    for name, old_prop in old_props.items():
        at = f"{where}.{name}"
        if name not in new_props:
            rule = "response-property-removed" if reading else "request-property-removed"
            if reading or new_s.get("additionalProperties") is False:
                yield BreakingChange(at, rule, "property removed")
            continue
        if reading and name in old_req and name not in new_req:
            yield BreakingChange(at, "response-property-optional", "no longer always present")
        if not reading and name in new_req and name not in old_req:
            yield BreakingChange(at, "request-property-required", "became required")
        yield from _compare_schema(
            old_doc, new_doc, old_prop, new_props[name], at, reading=reading, depth=depth + 1
        )
    if not reading:
        for name in sorted(new_req - set(old_props)):
            yield BreakingChange(
                f"{where}.{name}", "request-property-required", "new required property"
            )
    if "items" in old_s and "items" in new_s:
        yield from _compare_schema(
            old_doc,
            new_doc,
            old_s["items"],
            new_s["items"],
            f"{where}[]",
            reading=reading,
            depth=depth + 1,
        )


def _json_schema(body: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    content = (body or {}).get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    return None if media is None else media.get("schema", {})


def _compare_operation(
    old_doc: _Doc, new_doc: _Doc, old: Mapping[str, Any], new: Mapping[str, Any], where: str
) -> Iterator[BreakingChange]:
    old_params = {(p["in"], p["name"]): p for p in old.get("parameters", [])}
    new_params = {(p["in"], p["name"]): p for p in new.get("parameters", [])}
    for key, param in new_params.items():
        at = f"{where} {key[0]} parameter {key[1]}"
        if key not in old_params:
            if param.get("required"):
                yield BreakingChange(at, "parameter-added-required", "new required parameter")
            continue
        if param.get("required") and not old_params[key].get("required"):
            yield BreakingChange(at, "parameter-required", "became required")
        yield from _compare_schema(
            old_doc,
            new_doc,
            old_params[key].get("schema", {}),
            param.get("schema", {}),
            at,
            reading=False,
        )
    for key in old_params.keys() - new_params.keys():
        yield BreakingChange(
            f"{where} {key[0]} parameter {key[1]}", "parameter-removed", "parameter removed"
        )
    old_body, new_body = old.get("requestBody"), new.get("requestBody")
    if new_body and new_body.get("required") and not (old_body or {}).get("required"):
        yield BreakingChange(f"{where} request body", "request-body-required", "became required")
    old_schema, new_schema = _json_schema(old_body), _json_schema(new_body)
    if old_schema is not None and new_schema is not None:
        yield from _compare_schema(
            old_doc, new_doc, old_schema, new_schema, f"{where} request", reading=False
        )
    old_responses, new_responses = old.get("responses", {}), new.get("responses", {})
    for status, response in old_responses.items():
        if not str(status).startswith("2"):
            continue
        if status not in new_responses:
            yield BreakingChange(
                f"{where} response {status}", "response-removed", "success response removed"
            )
            continue
        old_schema, new_schema = _json_schema(response), _json_schema(new_responses[status])
        if old_schema is not None and new_schema is not None:
            yield from _compare_schema(
                old_doc, new_doc, old_schema, new_schema, f"{where} response {status}", reading=True
            )


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[BreakingChange]:
    """Every change from ``old`` to ``new`` that would break a client of ``old``.

    Args:
        old: The OpenAPI document clients were written against (the snapshot).
        new: The document the API serves now.

    Returns:
        The breaking changes, in path order; empty when ``new`` is compatible.
    """
    old_doc, new_doc = _Doc(old), _Doc(new)
    changes: list[BreakingChange] = []
    new_paths = new.get("paths", {})
    for path, old_item in old.get("paths", {}).items():
        if path not in new_paths:
            changes.append(BreakingChange(path, "path-removed", "path removed"))
            continue
        for method in _METHODS:
            if method not in old_item:
                continue
            where = f"{method.upper()} {path}"
            if method not in new_paths[path]:
                changes.append(BreakingChange(where, "operation-removed", "operation removed"))
                continue
            changes.extend(
                _compare_operation(
                    old_doc, new_doc, old_item[method], new_paths[path][method], where
                )
            )
    return changes
