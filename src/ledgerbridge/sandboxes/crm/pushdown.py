"""The part of a SOQL query SQLite can answer from indexes: equalities and the sort order.

Text compares without case in SOQL, so text columns go through `soql_fold` (Python's own
`str.lower`, registered on the store's connection) to give SQLite exactly the keys the
executor compares. A WHERE made only of such equalities, joined by AND, is `exact`: SQLite
then also sorts and pages. Anything else narrows the rows SQLite returns, and the executor
tests each of them as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledgerbridge.sandboxes.crm.ids import normalise_id
from ledgerbridge.sandboxes.crm.paths import TEXT
from ledgerbridge.sandboxes.crm.schema import Field, SObjectType
from ledgerbridge.sandboxes.crm.soql import And, Compare, Condition, In, Path, Query, Term

_EXACT_TYPES = (*TEXT, "id", "reference", "boolean")


@dataclass(frozen=True)
class Column:
    """A top-level field as SQLite reads it from the record's JSON."""

    field: str
    folded: bool

    def sql(self) -> str:
        """The SQL expression of the column (field names are identifiers, never user text)."""
        if self.field == "Id":
            return "id"
        extracted = f"json_extract(data, '$.{self.field}')"
        return f"soql_fold({extracted})" if self.folded else extracted


@dataclass(frozen=True)
class Match:
    """`column` holds one of `values`; a None among them matches a null field."""

    column: Column
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Sort:
    """One ORDER BY key."""

    column: Column
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Pushdown:
    """What SQLite does for one query: the matches every row meets, and when exact the order."""

    matches: tuple[Match, ...]
    exact: bool
    order: tuple[Sort, ...] = ()


def fold(value: Any) -> Any:
    """The key SOQL compares text by; registered in SQLite as `soql_fold`."""
    return None if value is None else str(value).lower()


def _column(field: Field) -> Column | None:
    if field.type not in _EXACT_TYPES:
        return None
    return Column(field.name, field.type in TEXT)


def _literal(field: Field, term: Term) -> tuple[bool, Any]:
    """(usable, the SQL value) of a literal compared with `field`, as the executor compares."""
    if term.kind == "null":
        return True, None
    if field.type == "boolean":
        return term.kind == "boolean", int(bool(term.value))
    if term.kind != "string":
        return False, None
    if field.type in ("id", "reference"):
        return True, normalise_id(str(term.value)) or term.value
    return True, str(term.value).lower()


def _match(root: SObjectType, term: Condition) -> Match | None:
    if isinstance(term, Compare) and term.op == "=":
        literals: tuple[Term, ...] = (term.literal,)
    elif isinstance(term, In) and not term.negated:
        literals = tuple(term.literals)
    else:
        return None
    if len(term.path.parts) != 1:
        return None
    field = root.field(term.path.parts[0])
    column = None if field is None else _column(field)
    if field is None or column is None:
        return None
    values = []
    for literal in literals:
        usable, value = _literal(field, literal)
        if not usable:
            return None
        values.append(value)
    return Match(column, tuple(values))


def _conjuncts(where: Condition) -> list[Condition]:
    if isinstance(where, And):
        return [t for operand in where.operands for t in _conjuncts(operand)]
    return [where]


def plan(root: SObjectType, query: Query) -> Pushdown:
    """The matches SQLite can apply for `query` on `root`, and its sort order when exact."""
    terms = _conjuncts(query.where) if query.where else []
    matches = [m for m in (_match(root, t) for t in terms) if m is not None]
    exact = len(matches) == len(terms)
    order: list[Sort] = []
    for item in query.order_by:
        path = item.path
        single = isinstance(path, Path) and len(path.parts) == 1
        field = root.field(path.parts[0]) if isinstance(path, Path) and single else None
        column = None if field is None else _column(field)
        if column is None:
            return Pushdown(tuple(matches), False)
        order.append(Sort(column, item.descending, item.nulls_last))
    return Pushdown(tuple(matches), exact, tuple(order))
