"""Aggregate SOQL: COUNT, COUNT_DISTINCT, SUM, AVG, MIN, MAX, with or without GROUP BY.

Results are AggregateResult records: grouped fields under their own names, aggregates under
their alias or expr0, expr1, ... in select order, as Salesforce names them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.paths import NUMERIC, Resolved, bind, comparable
from ledgerbridge.sandboxes.crm.schema import SObjectType
from ledgerbridge.sandboxes.crm.soql import (
    Aggregate,
    And,
    Condition,
    HavingCompare,
    Not,
    Or,
    Path,
    Query,
)

Row = dict[str, Any]
Value = Callable[[Row, Resolved], Any]


def _compute(aggregate: Aggregate, bound: Resolved, rows: list[Row], value: Value) -> Any:
    present = [v for v in (value(r, bound) for r in rows) if v is not None]
    function = aggregate.function
    if function == "COUNT":
        return len(present)
    if function == "COUNT_DISTINCT":
        return len({comparable(v, bound.field) for v in present})
    if function in ("SUM", "AVG"):
        if bound.field.type not in NUMERIC:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"field {bound.field.name} does not support aggregate operator {function}",
            )
        if not present:
            return None
        total = sum((Decimal(v) for v in present), Decimal(0))
        return total if function == "SUM" else total / len(present)
    if not present:
        return None
    pick = min if function == "MIN" else max
    return pick(present, key=lambda v: comparable(v, bound.field))


def _holds(condition: Condition, root: SObjectType, members: list[Row], value: Value) -> bool:
    """Whether a group satisfies a HAVING condition."""
    if isinstance(condition, And):
        return all(_holds(c, root, members, value) for c in condition.operands)
    if isinstance(condition, Or):
        return any(_holds(c, root, members, value) for c in condition.operands)
    if isinstance(condition, Not):
        return not _holds(condition.operand, root, members, value)
    if not isinstance(condition, HavingCompare):
        raise SalesforceError(
            400, "MALFORMED_QUERY", "HAVING compares aggregates, such as COUNT(Id) > 1"
        )
    bound = bind(root, condition.aggregate.path)
    computed = _compute(condition.aggregate, bound, members, value)
    wanted = condition.literal.value
    if condition.literal.kind == "number":
        computed = None if computed is None else Decimal(computed)
    elif computed is not None and not condition.aggregate.function.startswith("COUNT"):
        computed = comparable(computed, bound.field)
        wanted = wanted.lower() if isinstance(wanted, str) else wanted
    if condition.op == "=":
        return bool(computed == wanted)
    if condition.op == "!=":
        return bool(computed != wanted)
    if computed is None or wanted is None:
        return False
    return bool(
        {
            "<": computed < wanted,
            "<=": computed <= wanted,
            ">": computed > wanted,
            ">=": computed >= wanted,
        }[condition.op]
    )


def _same_path(a: Path, b: Path) -> bool:
    return [p.lower() for p in a.parts] == [p.lower() for p in b.parts]


def aggregate_rows(root: SObjectType, rows: list[Row], query: Query, value: Value) -> list[Row]:
    """The AggregateResult records of `query` over its filtered `rows`, sorted and paged."""
    for path in query.select:
        if not any(_same_path(path, g) for g in query.group_by):
            raise SalesforceError(
                400,
                "MALFORMED_QUERY",
                f"Field must be grouped or aggregated: {'.'.join(path.parts)}",
            )
    grouped = [bind(root, g) for g in query.group_by]
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        group_key = tuple(comparable(value(row, b), b.field) for b in grouped)
        groups.setdefault(group_key, []).append(row)
    if not query.group_by:
        groups = {(): rows}
    names: list[str] = []
    unnamed = 0
    for aggregate in query.aggregates:
        if aggregate.alias:
            names.append(aggregate.alias)
        else:
            names.append(f"expr{unnamed}")
            unnamed += 1
    bound_aggregates = [bind(root, a.path) for a in query.aggregates]
    results: list[tuple[Row, dict[str, Any]]] = []
    for members in groups.values():
        if query.having is not None and not _holds(query.having, root, members, value):
            continue
        out: Row = {"attributes": {"type": "AggregateResult"}}
        sort_keys: dict[str, Any] = {}
        for path, b in zip(query.group_by, grouped, strict=True):
            raw = value(members[0], b)
            out[path.parts[-1]] = raw
            sort_keys[".".join(path.parts).lower()] = comparable(raw, b.field)
        for aggregate, b, name in zip(query.aggregates, bound_aggregates, names, strict=True):
            computed = _compute(aggregate, b, members, value)
            out[name] = computed
            numeric = aggregate.function.startswith("COUNT") or b.field.type in NUMERIC
            sort_keys[f"{aggregate.function}:{'.'.join(aggregate.path.parts).lower()}"] = (
                computed if numeric else comparable(computed, b.field)
            )
        results.append((out, sort_keys))
    for item in reversed(query.order_by):
        if isinstance(item.path, Aggregate):
            key = f"{item.path.function}:{'.'.join(item.path.path.parts).lower()}"
        else:
            key = ".".join(item.path.parts).lower()
        if results and key not in results[0][1]:
            raise SalesforceError(
                400, "MALFORMED_QUERY", f"ORDER BY must use a grouped field or an aggregate: {key}"
            )
        present = [r for r in results if r[1][key] is not None]
        absent = [r for r in results if r[1][key] is None]
        present.sort(key=lambda r, k=key: r[1][k], reverse=item.descending)  # type: ignore[misc]
        results = present + absent if item.nulls_last else absent + present
    start = query.offset or 0
    stop = None if query.limit is None else start + query.limit
    return [out for out, _ in results[start:stop]]
