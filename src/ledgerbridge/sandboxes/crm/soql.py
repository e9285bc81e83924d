"""The SOQL subset the sandbox understands: a lark grammar and the syntax tree it builds.

    SELECT Id, Name, Account.Name, (SELECT Quantity FROM OrderItems) FROM Order
    WHERE (Status = 'Draft' OR TotalAmount > 100) AND NOT Name LIKE 'Test%'
    ORDER BY CreatedDate DESC NULLS LAST LIMIT 10 OFFSET 20

Keywords are case-insensitive. The contextual lexer lets object and field names that look like
keywords (the Order object, say) stand where only a name can.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from ledgerbridge.sandboxes.crm.errors import SalesforceError

_GRAMMAR = r"""
start: "SELECT"i select_list "FROM"i NAME where? group_by? having? order_by? limit? offset?

select_list: select_item ("," select_item)*
?select_item: count | aggregate | path | subquery
subquery: "(" "SELECT"i child_select "FROM"i NAME where? order_by? limit? ")"
child_select: path ("," path)*
count: FUNCTION "(" ")"
aggregate: FUNCTION "(" path ")" ALIAS?
path: NAME ("." NAME)*
group_by: "GROUP"i "BY"i path ("," path)*

where: "WHERE"i condition
?condition: or_expr
?or_expr: and_expr
        | or_expr "OR"i and_expr  -> any_of
?and_expr: not_expr
         | and_expr "AND"i not_expr  -> all_of
?not_expr: "NOT"i not_expr  -> negate
         | atom
?atom: comparison | "(" condition ")"
comparison: path OPERATOR literal           -> compare
          | path "LIKE"i STRING              -> like
          | path "IN"i "(" literal ("," literal)* ")"  -> in_list
          | path "NOT"i "IN"i "(" literal ("," literal)* ")"  -> not_in_list
          | path "IN"i "(" semi_select ")"  -> in_select
          | path "NOT"i "IN"i "(" semi_select ")"  -> not_in_select
semi_select: "SELECT"i path "FROM"i NAME where?

having: "HAVING"i having_or
?having_or: having_and
          | having_or "OR"i having_and  -> any_of
?having_and: having_not
           | having_and "AND"i having_not  -> all_of
?having_not: "NOT"i having_not  -> negate
           | having_atom
?having_atom: aggregate OPERATOR literal  -> having_compare
            | "(" having_or ")"

?literal: STRING -> string
        | SIGNED_NUMBER -> number
        | "TRUE"i -> true
        | "FALSE"i -> false
        | "NULL"i -> null
        | DATETIME -> datetime
        | DATE -> date
        | DATE_LITERAL -> date_literal

order_by: "ORDER"i "BY"i order_item ("," order_item)*
order_item: order_key DIRECTION? nulls?
?order_key: path | aggregate
nulls: "NULLS"i NULLS_WHERE
limit: "LIMIT"i INT
offset: "OFFSET"i INT

OPERATOR: "=" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
DIRECTION: /ASC|DESC/i
NULLS_WHERE: /FIRST|LAST/i
DATETIME.2: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})/
DATE.1: /\d{4}-\d{2}-\d{2}/
DATE_LITERAL: /(RELATIVE_DATES)(?![A-Za-z0-9_:])|(LAST_N_DAYS|NEXT_N_DAYS):\d+/i
STRING: /'(\\.|[^'\\])*'/
NAME: /[A-Za-z][A-Za-z0-9_]*/
FUNCTION.2: /(COUNT_DISTINCT|COUNT|SUM|AVG|MIN|MAX)(?=\s*\()/i
ALIAS: /(?!(FROM|GROUP|ORDER|LIMIT|OFFSET|ASC|DESC|NULLS)\b)[A-Za-z][A-Za-z0-9_]*/i

%import common.SIGNED_NUMBER
%import common.INT
%import common.WS
%ignore WS
"""

_RELATIVE_DATES = (
    "YESTERDAY",
    "TODAY",
    "TOMORROW",
    "LAST_WEEK",
    "THIS_WEEK",
    "NEXT_WEEK",
    "LAST_MONTH",
    "THIS_MONTH",
    "NEXT_MONTH",
    "LAST_90_DAYS",
    "NEXT_90_DAYS",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
)

_PARSER = Lark(
    _GRAMMAR.replace("RELATIVE_DATES", "|".join(_RELATIVE_DATES)),
    parser="lalr",
    lexer="contextual",
    maybe_placeholders=False,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


@dataclass(frozen=True)
class Path:
    """A field, possibly reached through parent relationships: ("Account", "Name")."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class DateLiteral:
    """A relative date such as TODAY or LAST_N_DAYS:7, resolved when the query runs."""

    name: str
    days: int | None = None


@dataclass(frozen=True)
class Term:
    """A typed literal as written in the query; `text` keeps its spelling for messages."""

    value: Any
    kind: str
    text: str


@dataclass(frozen=True)
class Compare:
    """`path <op> literal`."""

    path: Path
    op: str
    literal: Term


@dataclass(frozen=True)
class Like:
    """`path LIKE 'pattern'`."""

    path: Path
    pattern: str


@dataclass(frozen=True)
class In:
    """`path [NOT] IN (literals)`."""

    path: Path
    literals: tuple[Term, ...]
    negated: bool


@dataclass(frozen=True)
class And:
    """Every operand holds."""

    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    """Some operand holds."""

    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """The operand does not hold."""

    operand: Condition


@dataclass(frozen=True)
class InSelect:
    """`path [NOT] IN (SELECT field FROM Object WHERE ...)`: a semi-join or anti-join."""

    path: Path
    query: Query
    negated: bool


@dataclass(frozen=True)
class HavingCompare:
    """`AGGREGATE(field) <op> literal` in a HAVING clause."""

    aggregate: Aggregate
    op: str
    literal: Term


Condition = Compare | Like | In | InSelect | HavingCompare | And | Or | Not


@dataclass(frozen=True)
class Aggregate:
    """An aggregate function over a field: SUM(TotalAmount) total."""

    function: str
    path: Path
    alias: str | None = None

    def same_as(self, other: Aggregate) -> bool:
        """Whether two spellings name the same computation (aliases aside)."""
        return self.function == other.function and [p.lower() for p in self.path.parts] == [
            p.lower() for p in other.path.parts
        ]


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key."""

    path: Path | Aggregate
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    """A parsed SELECT."""

    select: tuple[Path, ...]
    count: bool
    sobject: str
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    children: tuple[Query, ...] = ()
    """Child relationship sub-queries; their `sobject` is the relationship name (OrderItems)."""
    aggregates: tuple[Aggregate, ...] = ()
    group_by: tuple[Path, ...] = ()
    having: Condition | None = None


def _unquote(token: str) -> str:
    body = token[1:-1]
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            out.append(_ESCAPES.get(escaped, escaped))
        else:
            out.append(char)
    return "".join(out)


@v_args(inline=True)
class _Build(Transformer[Token, Any]):
    def path(self, *names: Token) -> Path:
        return Path(tuple(str(n) for n in names))

    def count(self, function: Token) -> str:
        if str(function).upper() != "COUNT":
            raise _malformed(f"{function}() needs a field")
        return "COUNT()"

    def aggregate(self, function: Token, path: Path, alias: Token | None = None) -> Aggregate:
        return Aggregate(str(function).upper(), path, str(alias) if alias else None)

    def group_by(self, *paths: Path) -> tuple[str, tuple[Path, ...]]:
        return ("group_by", paths)

    def select_list(
        self, *items: Path | str | Query | Aggregate
    ) -> list[Path | str | Query | Aggregate]:
        return list(items)

    def string(self, token: Token) -> Term:
        # LIKE keeps the raw pattern; other comparisons get the unescaped text.
        return Term(_unquote(token), "string", str(token))

    def number(self, token: Token) -> Term:
        return Term(Decimal(str(token)), "number", str(token))

    def true(self) -> Term:
        return Term(True, "boolean", "true")

    def false(self) -> Term:
        return Term(False, "boolean", "false")

    def null(self) -> Term:
        return Term(None, "null", "null")

    def date(self, token: Token) -> Term:
        try:
            return Term(date.fromisoformat(str(token)), "date", str(token))
        except ValueError as exc:
            raise _malformed(f"invalid date: {token}") from exc

    def datetime(self, token: Token) -> Term:
        return Term(str(token), "datetime", str(token))

    def date_literal(self, token: Token) -> Term:
        name, _, days = str(token).upper().partition(":")
        return Term(DateLiteral(name, int(days) if days else None), "date_literal", str(token))

    def compare(self, path: Path, op: Token, literal: Term) -> Compare:
        return Compare(path, "!=" if str(op) == "<>" else str(op), literal)

    def like(self, path: Path, pattern: Token) -> Like:
        return Like(path, str(pattern)[1:-1])

    def in_list(self, path: Path, *literals: Term) -> In:
        return In(path, literals, negated=False)

    def semi_select(self, path: Path, sobject: Token, where: Condition | None = None) -> Query:
        return Query((path,), False, str(sobject), where, (), None, None)

    def in_select(self, path: Path, query: Query) -> InSelect:
        return InSelect(path, query, negated=False)

    def not_in_select(self, path: Path, query: Query) -> InSelect:
        return InSelect(path, query, negated=True)

    def having_compare(self, aggregate: Aggregate, op: Token, literal: Term) -> HavingCompare:
        return HavingCompare(aggregate, "!=" if str(op) == "<>" else str(op), literal)

    def having(self, condition: Condition) -> tuple[str, Condition]:
        return ("having", condition)

    def not_in_list(self, path: Path, *literals: Term) -> In:
        return In(path, literals, negated=True)

    def all_of(self, *operands: Condition) -> And:
        return And(operands)

    def any_of(self, *operands: Condition) -> Or:
        return Or(operands)

    def negate(self, operand: Condition) -> Not:
        return Not(operand)

    def where(self, condition: Condition) -> Condition:
        return condition

    def nulls(self, where: Token) -> str:
        return str(where).upper()

    def order_item(self, path: Path | Aggregate, *rest: Token | str) -> OrderItem:
        descending = False
        nulls: str | None = None
        for item in rest:
            if isinstance(item, Token) and item.type == "DIRECTION":
                descending = str(item).upper() == "DESC"
            else:
                nulls = str(item)
        # Salesforce puts nulls first when ascending and last when descending, unless told.
        nulls_last = descending if nulls is None else nulls == "LAST"
        return OrderItem(path, descending, nulls_last)

    def order_by(self, *items: OrderItem) -> tuple[OrderItem, ...]:
        return items

    def limit(self, token: Token) -> tuple[str, int]:
        return ("limit", int(token))

    def offset(self, token: Token) -> tuple[str, int]:
        return ("offset", int(token))

    def child_select(self, *paths: Path) -> list[Path]:
        return list(paths)

    def subquery(self, select: list[Path], relationship: Token, *clauses: Any) -> Query:
        return self.start(list(select), relationship, *clauses)

    def start(
        self, select: list[Path | str | Query | Aggregate], sobject: Token, *clauses: Any
    ) -> Query:
        group_by: tuple[Path, ...] = ()
        having: Condition | None = None
        where: Condition | None = None
        order_by: tuple[OrderItem, ...] = ()
        limit: int | None = None
        offset: int | None = None
        for clause in clauses:
            if isinstance(clause, tuple) and clause and clause[0] == "limit":
                limit = clause[1]
            elif isinstance(clause, tuple) and clause and clause[0] == "offset":
                offset = clause[1]
            elif isinstance(clause, tuple) and clause and clause[0] == "group_by":
                group_by = clause[1]
            elif isinstance(clause, tuple) and clause and clause[0] == "having":
                having = clause[1]
            elif isinstance(clause, tuple):
                order_by = clause
            else:
                where = clause
        paths = tuple(p for p in select if isinstance(p, Path))
        children = tuple(q for q in select if isinstance(q, Query))
        aggregates = tuple(a for a in select if isinstance(a, Aggregate))
        count = "COUNT()" in select
        if count and (paths or children or aggregates):
            raise _malformed("COUNT() cannot be combined with other fields")
        return Query(
            paths,
            count,
            str(sobject),
            where,
            order_by,
            limit,
            offset,
            children,
            aggregates,
            group_by,
            having,
        )


def _malformed(message: str) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_QUERY", message)


@lru_cache(maxsize=512)
def parse(soql: str) -> Query:
    """Parse a SOQL statement, or raise MALFORMED_QUERY saying where it went wrong.

    The tree is immutable, so clients repeating a query (pollers, loads) reuse its parse.
    """
    try:
        tree = _PARSER.parse(soql)
    except LarkError as exc:
        raise _malformed(f"unexpected token in query: {str(exc).splitlines()[0]}") from exc
    try:
        query: Query = _Build().transform(tree)
    except VisitError as exc:
        raise exc.orig_exc from None
    return query
