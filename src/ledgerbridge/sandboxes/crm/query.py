"""Running a parsed SOQL query against the store: filter, sort, page and project records."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ledgerbridge.sandboxes.crm.aggregate import aggregate_rows
from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.ids import normalise_id
from ledgerbridge.sandboxes.crm.objects import SOBJECTS, child_relationship, sobject
from ledgerbridge.sandboxes.crm.paths import NUMERIC, TEXT, Resolved, bind, comparable
from ledgerbridge.sandboxes.crm.pushdown import plan
from ledgerbridge.sandboxes.crm.records import Records, record_url
from ledgerbridge.sandboxes.crm.schema import Field, SObjectType
from ledgerbridge.sandboxes.crm.soql import (
    Aggregate,
    And,
    Compare,
    Condition,
    DateLiteral,
    HavingCompare,
    In,
    InSelect,
    Like,
    Not,
    Or,
    Path,
    Query,
    Term,
)
from ledgerbridge.sandboxes.crm.values import parse_datetime

Row = dict[str, Any]


def _date_range(literal: DateLiteral, today: date) -> tuple[date, date]:
    """The inclusive [first, last] days a relative date literal covers."""
    name, days = literal.name, literal.days
    if name == "TODAY":
        return today, today
    if name == "YESTERDAY":
        return today - timedelta(days=1), today - timedelta(days=1)
    if name == "TOMORROW":
        return today + timedelta(days=1), today + timedelta(days=1)
    if name == "LAST_N_DAYS" and days is not None:
        return today - timedelta(days=days), today
    if name == "NEXT_N_DAYS" and days is not None:
        return today, today + timedelta(days=days)
    if name == "LAST_90_DAYS":
        return today - timedelta(days=90), today
    if name == "NEXT_90_DAYS":
        return today, today + timedelta(days=90)
    if name in ("THIS_WEEK", "LAST_WEEK", "NEXT_WEEK"):
        start = today - timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday
        shift = {"THIS_WEEK": 0, "LAST_WEEK": -7, "NEXT_WEEK": 7}[name]
        start += timedelta(days=shift)
        return start, start + timedelta(days=6)
    if name in ("THIS_MONTH", "LAST_MONTH", "NEXT_MONTH"):
        month_index = today.year * 12 + today.month - 1
        month_index += {"THIS_MONTH": 0, "LAST_MONTH": -1, "NEXT_MONTH": 1}[name]
        start = date(month_index // 12, month_index % 12 + 1, 1)
        following = date((month_index + 1) // 12, (month_index + 1) % 12 + 1, 1)
        return start, following - timedelta(days=1)
    year = today.year + {"THIS_YEAR": 0, "LAST_YEAR": -1, "NEXT_YEAR": 1}[name]
    return date(year, 1, 1), date(year, 12, 31)


class Executor:
    """Evaluate queries for one request, caching parent lookups."""

    def __init__(self, records: Records, api_version: str, today: date) -> None:
        self.records = records
        self.api_version = api_version
        self.today = today
        self._parents: dict[str, Row | None] = {}

    def run(self, query: Query, *, include_deleted: bool = False) -> tuple[int, list[Row]]:
        """(totalSize, projected records) for `query`; queryAll adds the recycle bin."""
        root = sobject(query.sobject)
        if root is None:
            raise SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{query.sobject}' is not supported."
            )
        select = [bind(root, p) for p in query.select]
        test = self._compile(root, query.where) if query.where else None
        pushdown = plan(root, query)
        start = query.offset or 0
        if pushdown.exact and not (query.aggregates or query.group_by):
            # SQLite filters, sorts and pages exactly as the code below would.
            rows = self.records.store.search(
                root.name,
                pushdown,
                include_deleted=include_deleted,
                limit=query.limit,
                offset=start,
            )
        else:
            candidates = self.records.store.search(
                root.name, pushdown, include_deleted=include_deleted
            )
            rows = [r for r in candidates if test is None or test(r)]
            if query.aggregates or query.group_by:
                results = aggregate_rows(root, rows, query, self._value)
                return len(results), results
            rows = self._sorted(root, rows, query)
            stop = None if query.limit is None else start + query.limit
            rows = rows[start:stop]
        if query.count:
            return len(rows), []
        projected = [self._project(root, r, query.select, select) for r in rows]
        for child in query.children:
            self._attach_children(root, child, rows, projected)
        return len(rows), projected

    def _sorted(self, root: SObjectType, rows: list[Row], query: Query) -> list[Row]:
        for item in reversed(query.order_by):
            if isinstance(item.path, Aggregate):
                raise SalesforceError(
                    400, "MALFORMED_QUERY", "ORDER BY an aggregate needs an aggregate query"
                )
            bound = bind(root, item.path)
            present = [r for r in rows if self._value(r, bound) is not None]
            absent = [r for r in rows if self._value(r, bound) is None]
            present.sort(
                key=lambda r, b=bound: comparable(self._value(r, b), b.field),  # type: ignore[misc]
                reverse=item.descending,
            )
            rows = present + absent if item.nulls_last else absent + present
        return rows

    def _attach_children(
        self, root: SObjectType, child: Query, rows: list[Row], projected: list[Row]
    ) -> None:
        """Fill each projected parent with its child records, as {totalSize, done, records}."""
        found = child_relationship(root, child.sobject)
        if found is None:
            raise SalesforceError(
                400,
                "INVALID_TYPE",
                f"Didn't understand relationship '{child.sobject}' in FROM part of query call. "
                "If you are attempting to use a custom relationship, be sure to append the "
                "'__r' after the custom relationship name.",
            )
        name, child_type, field = found
        select = [bind(child_type, p) for p in child.select]
        test = self._compile(child_type, child.where) if child.where else None
        grouped: dict[str, list[Row]] = {}
        for row in self.records.store.all_of(child_type.name):
            if test is None or test(row):
                grouped.setdefault(row.get(field.name) or "", []).append(row)
        for parent, out in zip(rows, projected, strict=True):
            children = self._sorted(child_type, grouped.get(parent["Id"], []), child)
            children = children[: child.limit] if child.limit is not None else children
            out[name] = (
                {
                    "totalSize": len(children),
                    "done": True,
                    "records": [
                        self._project(child_type, c, child.select, select) for c in children
                    ],
                }
                if children
                else None
            )

    # -- values --------------------------------------------------------------

    def _parent(self, record_id: str | None) -> Row | None:
        if record_id is None:
            return None
        if record_id not in self._parents:
            found = self.records.store.get(record_id)
            self._parents[record_id] = None if found is None else found[1]
        return self._parents[record_id]

    def _value(self, row: Row, bound: Resolved) -> Any:
        current: Row | None = row
        for hop in bound.hops:
            current = self._parent(current.get(hop.name)) if current else None
        return None if current is None else current.get(bound.field.name)

    def _project(
        self, root: SObjectType, row: Row, paths: tuple[Path, ...], bound: list[Resolved]
    ) -> Row:
        out: Row = {"attributes": self._attributes(root, row["Id"])}
        for path, resolved in zip(paths, bound, strict=True):
            target = out
            current: Row | None = row
            for name, hop in zip(path.parts[:-1], resolved.hops, strict=True):
                key = hop.relationship_name or name
                current = self._parent(current.get(hop.name)) if current else None
                if current is None:
                    target[key] = None
                    break
                if not isinstance(target.get(key), dict):
                    parent_type = SOBJECTS[(hop.reference_to or "").lower()]
                    target[key] = {"attributes": self._attributes(parent_type, current["Id"])}
                target = target[key]
            else:
                if current is not None:
                    target[resolved.field.name] = current.get(resolved.field.name)
        return out

    def _attributes(self, sobject_type: SObjectType, record_id: str) -> Row:
        return {
            "type": sobject_type.name,
            "url": record_url(self.api_version, sobject_type.name, record_id),
        }

    # -- conditions ----------------------------------------------------------

    def _compile(self, root: SObjectType, condition: Condition) -> Callable[[Row], bool]:
        if isinstance(condition, And):
            parts = [self._compile(root, c) for c in condition.operands]
            return lambda r: all(p(r) for p in parts)
        if isinstance(condition, Or):
            parts = [self._compile(root, c) for c in condition.operands]
            return lambda r: any(p(r) for p in parts)
        if isinstance(condition, Not):
            inner = self._compile(root, condition.operand)
            return lambda r: not inner(r)
        if isinstance(condition, HavingCompare):
            raise SalesforceError(
                400, "MALFORMED_QUERY", "Aggregates can be filtered in HAVING, not in WHERE"
            )
        bound = bind(root, condition.path)
        if isinstance(condition, InSelect):
            return self._semi_join(bound, condition)
        if isinstance(condition, Like):
            if bound.field.type not in TEXT and bound.field.type not in ("id", "reference"):
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    f"invalid operator on {bound.field.type} field: LIKE on {bound.field.name}",
                )
            regex = _like_regex(condition.pattern)
            return lambda r: isinstance(v := self._value(r, bound), str) and bool(regex(v))
        if isinstance(condition, In):
            wanted = [self._operand(bound.field, t) for t in condition.literals]
            negated = condition.negated

            def member(r: Row) -> bool:
                value = comparable(self._value(r, bound), bound.field)
                found = any(value == w for w in wanted if not isinstance(w, tuple))
                found = found or any(
                    isinstance(w, tuple) and value is not None and w[0] <= value <= w[1]
                    for w in wanted
                )
                return not found if negated else found

            return member
        return self._comparison(bound, condition)

    def _semi_join(self, bound: Resolved, condition: InSelect) -> Callable[[Row], bool]:
        if bound.field.type not in ("id", "reference"):
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"a semi-join needs an id or reference field, not {bound.field.name}",
            )
        ids = {v for v in self.values(condition.query) if v is not None}
        negated = condition.negated
        return lambda r: (self._value(r, bound) in ids) != negated

    def values(self, query: Query) -> list[Any]:
        """The values of the one id or reference field a semi-join's inner SELECT names."""
        root = sobject(query.sobject)
        if root is None:
            raise SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{query.sobject}' is not supported."
            )
        bound = bind(root, query.select[0])
        if bound.field.type not in ("id", "reference"):
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"a semi-join must select an id or reference field, not {bound.field.name}",
            )
        test = self._compile(root, query.where) if query.where else None
        rows = self.records.store.search(root.name, plan(root, query))
        return [self._value(r, bound) for r in rows if test is None or test(r)]

    def _comparison(self, bound: Resolved, condition: Compare) -> Callable[[Row], bool]:
        wanted = self._operand(bound.field, condition.literal)
        op = condition.op

        def test(r: Row) -> bool:
            value = comparable(self._value(r, bound), bound.field)
            if isinstance(wanted, tuple):  # a date literal spans a range of days
                if value is None:
                    return op == "!="
                low, high = wanted
                return bool(
                    {
                        "=": low <= value <= high,
                        "!=": not low <= value <= high,
                        "<": value < low,
                        "<=": value <= high,
                        ">": value > high,
                        ">=": value >= low,
                    }[op]
                )
            if op == "=":
                return bool(value == wanted)
            if op == "!=":
                return bool(value != wanted)
            if value is None or wanted is None:
                return False
            return bool(
                {
                    "<": value < wanted,
                    "<=": value <= wanted,
                    ">": value > wanted,
                    ">=": value >= wanted,
                }[op]
            )

        return test

    def _operand(self, field: Field, term: Term) -> Any:
        """The literal in the same comparable form `_comparable` gives field values."""
        if term.kind == "null":
            return None
        kind = field.type

        def mismatch() -> SalesforceError:
            return SalesforceError(
                400,
                "INVALID_FIELD",
                f"value of filter criterion for field '{field.name}' must be of type {kind}: "
                f"{term.text}",
            )

        if isinstance(term.value, DateLiteral):
            if kind not in ("date", "datetime"):
                raise mismatch()
            first, last = _date_range(term.value, self.today)
            if kind == "date":
                return first, last
            return (
                datetime.combine(first, time.min, tzinfo=UTC),
                datetime.combine(last, time.max, tzinfo=UTC),
            )
        if kind in NUMERIC:
            if term.kind != "number":
                raise mismatch()
            return term.value
        if kind == "boolean":
            if term.kind != "boolean":
                raise mismatch()
            return term.value
        if kind == "date":
            if term.kind != "date":
                raise mismatch()
            return term.value
        if kind == "datetime":
            if term.kind != "datetime":
                raise mismatch()
            return parse_datetime(term.value)
        if term.kind != "string":
            raise mismatch()
        if kind in ("id", "reference"):
            return normalise_id(term.value) or term.value
        return str(term.value).lower()


def _like_regex(pattern: str) -> Callable[[str], Any]:
    out = ""
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out += re.escape(next(chars, ""))
        elif char == "%":
            out += ".*"
        elif char == "_":
            out += "."
        else:
            out += re.escape(char)
    return re.compile(f"^{out}$", re.IGNORECASE | re.DOTALL).match
