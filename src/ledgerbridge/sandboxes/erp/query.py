"""OData V2 expressions: a lark grammar for $filter and key predicates, and their evaluation."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedInput, v_args

from ledgerbridge.sandboxes.erp.errors import bad_request
from ledgerbridge.sandboxes.erp.model import EntityType
from ledgerbridge.sandboxes.erp.values import parse_iso_datetime

_GRAMMAR = r"""
?start: expr

?expr: or_expr
?or_expr: and_expr | or_expr "or" and_expr -> or_
?and_expr: not_expr | and_expr "and" not_expr -> and_
?not_expr: compare | "not" not_expr -> not_
?compare: primary | primary COMPOP primary -> compare
?primary: literal
        | NAME ("/" NAME)* -> member
        | NAME "(" [expr ("," expr)*] ")" -> call
        | "(" expr ")"

?literal: STRING -> string
        | DATETIMEOFFSET -> datetimeoffset
        | DATETIME -> datetime
        | GUID -> guid
        | NUMBER -> number
        | "true" -> true
        | "false" -> false
        | "null" -> null

keys: key_value ("," key_value)*
value: literal
?key_value: literal -> bare_key
          | NAME "=" literal -> named_key

COMPOP: "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "gte" | "lte"
STRING: /'(?:[^']|'')*'/
DATETIMEOFFSET.3: /datetimeoffset'[^']*'/i
DATETIME.2: /datetime'[^']*'/i
GUID.2: /guid'[^']*'/i
NUMBER: /-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?/
NAME: /[A-Za-z_][A-Za-z0-9_]*/

%import common.WS
%ignore WS
"""

_DATE_TYPES = frozenset({"Edm.DateTime", "Edm.DateTimeOffset"})
_PARSER = Lark(_GRAMMAR, start=["start", "keys", "value"], parser="lalr")


@dataclass(frozen=True)
class Member:
    """A property path in an expression."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    """A function call such as substringof('x', Name)."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Binary:
    """A comparison or a boolean connective."""

    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    """Boolean negation."""

    operand: Any


@dataclass(frozen=True)
class Literal:
    """A typed literal value."""

    value: Any


def _unquote(text: str) -> str:
    return text[text.index("'") + 1 : -1].replace("''", "'")


@v_args(inline=True)
class _ToAst(Transformer[Token, Any]):
    def string(self, tok: Token) -> Literal:
        return Literal(_unquote(str(tok)))

    def datetime(self, tok: Token) -> Literal:
        return Literal(parse_iso_datetime(_unquote(str(tok))))

    def datetimeoffset(self, tok: Token) -> Literal:
        return Literal(parse_iso_datetime(_unquote(str(tok))))

    def guid(self, tok: Token) -> Literal:
        return Literal(str(uuid.UUID(_unquote(str(tok)))))

    def number(self, tok: Token) -> Literal:
        return Literal(Decimal(str(tok).rstrip("mMdDfFlL")))

    def true(self) -> Literal:
        return Literal(True)

    def false(self) -> Literal:
        return Literal(False)

    def null(self) -> Literal:
        return Literal(None)

    def member(self, *names: Token) -> Member:
        return Member(tuple(str(n) for n in names))

    def call(self, name: Token, *args: Any) -> Call:
        return Call(str(name), tuple(a for a in args if a is not None))

    def compare(self, left: Any, op: Token, right: Any) -> Binary:
        return Binary(str(op), left, right)

    def or_(self, left: Any, right: Any) -> Binary:
        return Binary("or", left, right)

    def and_(self, left: Any, right: Any) -> Binary:
        return Binary("and", left, right)

    def not_(self, operand: Any) -> Not:
        return Not(operand)

    def bare_key(self, literal: Literal) -> tuple[None, Any]:
        return (None, literal.value)

    def named_key(self, name: Token, literal: Literal) -> tuple[str, Any]:
        return (str(name), literal.value)

    def value(self, literal: Literal) -> Any:
        return literal.value

    def keys(self, *pairs: tuple[str | None, Any]) -> tuple[tuple[str | None, Any], ...]:
        return pairs


# Clients repeat the same filters and keys; the trees are immutable, so parses are shared.
@lru_cache(maxsize=1024)
def _parse(text: str, start: str) -> Any:
    return _ToAst().transform(_PARSER.parse(text, start=start))


def parse_filter(text: str, entity: EntityType) -> Any:
    """Parse a $filter expression and check that every property exists on `entity`."""
    try:
        ast = _parse(text, "start")
    except (UnexpectedInput, ValueError, InvalidOperation) as exc:
        raise bad_request(f"Invalid filter expression: '{text}'") from exc
    _check_members(ast, entity)
    return ast


def string_equalities(ast: Any, entity: EntityType) -> tuple[dict[str, str], bool]:
    """The `Prop eq 'text'` terms the filter ANDs together, and whether they are all of it.

    Only Edm.String properties qualify: their stored text compares exactly as `evaluate`
    compares it, so the store can select the rows by these equalities alone.
    """
    terms = _conjuncts(ast)
    found: dict[str, str] = {}
    for term in terms:
        match = _string_equality(term, entity)
        if match is None or found.get(match[0], match[1]) != match[1]:
            continue
        found[match[0]] = match[1]
    return found, len(found) == len(terms)


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, Binary) and node.op == "and":
        return [*_conjuncts(node.left), *_conjuncts(node.right)]
    return [node]


def _string_equality(node: Any, entity: EntityType) -> tuple[str, str] | None:
    if not isinstance(node, Binary) or node.op != "eq":
        return None
    member, literal = node.left, node.right
    if isinstance(member, Literal):
        member, literal = literal, member
    if not (isinstance(member, Member) and isinstance(literal, Literal)):
        return None
    prop = entity.prop(member.path[0])
    if prop is None or prop.edm_type != "Edm.String" or prop.name == "ETag":
        return None
    return (prop.name, literal.value) if isinstance(literal.value, str) else None


def parse_key(text: str, entity: EntityType) -> dict[str, Any]:
    """Parse a key predicate (`'1'` or `A='1',B='2'`) into values by key property."""
    try:
        pairs = _parse(text, "keys")
    except (UnexpectedInput, ValueError, InvalidOperation) as exc:
        raise bad_request(f"Invalid key predicate '({text})'") from exc
    if len(pairs) == 1 and pairs[0][0] is None and len(entity.keys) == 1:
        return {entity.keys[0]: _key_text(entity, entity.keys[0], pairs[0][1])}
    named = {name: _key_text(entity, name, value) for name, value in pairs if name is not None}
    if len(named) != len(pairs) or set(named) != set(entity.keys):
        raise bad_request(f"Key predicate '({text})' does not match keys {', '.join(entity.keys)}")
    return named


def parse_literal(text: str) -> Any:
    """Parse one literal, as function import parameters are given (`SalesOrder='1'`)."""
    try:
        return _parse(text, "value")
    except (UnexpectedInput, ValueError, InvalidOperation) as exc:
        raise bad_request(f"Invalid literal '{text}'") from exc


def _key_text(entity: EntityType, name: str, value: Any) -> str:
    """A key value as stored: date keys accept datetime'…' and plain '…' alike."""
    prop = entity.prop(name)
    if prop is not None and prop.edm_type in _DATE_TYPES and isinstance(value, str):
        try:
            value = parse_iso_datetime(value)
        except ValueError as exc:
            raise bad_request(f"Invalid date '{value}' for key property '{name}'") from exc
    return str(value)


def _check_members(node: Any, entity: EntityType) -> None:
    if isinstance(node, Member):
        if len(node.path) != 1 or entity.prop(node.path[0]) is None:
            raise bad_request(
                f"Property '{'/'.join(node.path)}' not found in type '{entity.type_name}'"
            )
    elif isinstance(node, Binary):
        _check_members(node.left, entity)
        _check_members(node.right, entity)
    elif isinstance(node, Not):
        _check_members(node.operand, entity)
    elif isinstance(node, Call):
        if node.name not in _FUNCTIONS:
            raise bad_request(f"Function '{node.name}' is not supported")
        for arg in node.args:
            _check_members(arg, entity)


def _align(left: Any, right: Any) -> tuple[Any, Any]:
    """Make a literal comparable with the property value it meets."""
    if isinstance(left, Decimal) and isinstance(right, str):
        try:
            return left, Decimal(right)
        except InvalidOperation:
            return str(left), right
    if isinstance(left, str) and isinstance(right, Decimal):
        aligned_right, aligned_left = _align(right, left)
        return aligned_left, aligned_right
    if isinstance(left, datetime) and isinstance(right, str):
        return left, parse_iso_datetime(right)
    if isinstance(left, str) and isinstance(right, datetime):
        return parse_iso_datetime(left), right
    return left, right


_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "gte": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
    "lte": operator.le,
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "substringof": lambda needle, hay: _text(needle) in _text(hay),
    "startswith": lambda hay, prefix: _text(hay).startswith(_text(prefix)),
    "endswith": lambda hay, suffix: _text(hay).endswith(_text(suffix)),
    "tolower": lambda v: _text(v).lower(),
    "toupper": lambda v: _text(v).upper(),
    "trim": lambda v: _text(v).strip(),
    "length": lambda v: Decimal(len(_text(v))),
    "indexof": lambda hay, needle: Decimal(_text(hay).find(_text(needle))),
    "concat": lambda a, b: _text(a) + _text(b),
}


def evaluate(node: Any, row: Mapping[str, Any]) -> Any:
    """Evaluate an expression against one entity's typed values."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Member):
        return row.get(node.path[0])
    if isinstance(node, Not):
        return not evaluate(node.operand, row)
    if isinstance(node, Call):
        try:
            return _FUNCTIONS[node.name](*(evaluate(a, row) for a in node.args))
        except TypeError as exc:
            raise bad_request(f"Wrong arguments for function '{node.name}'") from exc
    if isinstance(node, Binary):
        if node.op == "and":
            return bool(evaluate(node.left, row)) and bool(evaluate(node.right, row))
        if node.op == "or":
            return bool(evaluate(node.left, row)) or bool(evaluate(node.right, row))
        left, right = _align(evaluate(node.left, row), evaluate(node.right, row))
        if node.op == "eq":
            return left == right
        if node.op == "ne":
            return left != right
        if left is None or right is None:
            return False
        try:
            return _ORDERING[node.op](left, right)
        except TypeError as exc:
            raise bad_request(f"Operands of '{node.op}' cannot be compared") from exc
    raise bad_request("Unsupported expression")
