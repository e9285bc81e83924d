"""Dotted paths into nested records: ``to_Item.results[0].Material``, ``lines[ConditionType=PR00]``.

Strictly private. A path is a list of segments: a key into a mapping, an index into a list, or
a selector picking the first list element whose key equals a value. Reading a path that is not
there gives None; writing one creates the dicts and lists on the way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

__all__ = ["Index", "Key", "Path", "Select", "parse_path", "read_path", "render_path", "write_path"]


@dataclass(frozen=True)
class Key:
    """A key into a mapping."""

    name: str


@dataclass(frozen=True)
class Index:
    """A position in a list (0-based)."""

    position: int


@dataclass(frozen=True)
class Select:
    """The first element of a list whose `key` renders as `value`."""

    key: str
    value: str


Segment = Key | Index | Select
Path = tuple[Segment, ...]

_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_PART = re.compile(r"^(?P<name>[^\[\]]+)?(?P<brackets>(\[[^\[\]]+\])*)$")
_BRACKET = re.compile(r"\[([^\[\]]+)\]")


@cache
def parse_path(text: str) -> Path:
    """Parse ``a.b[0].c[Kind=X]`` into segments; raise ValueError on a malformed path."""
    segments: list[Segment] = []
    for part in text.split("."):
        match = _PART.match(part)
        if match is None or match["name"] is None:
            raise ValueError(f"malformed path {text!r} at {part!r}")
        if not _NAME.match(match["name"]):
            raise ValueError(f"malformed path {text!r}: bad name {match['name']!r}")
        segments.append(Key(match["name"]))
        for inner in _BRACKET.findall(match["brackets"]):
            if inner.isdigit():
                segments.append(Index(int(inner)))
            elif "=" in inner:
                key, _, value = inner.partition("=")
                segments.append(Select(key.strip(), value.strip()))
            else:
                raise ValueError(f"malformed path {text!r}: bad bracket [{inner}]")
    return tuple(segments)


def render_path(path: Sequence[Segment]) -> str:
    """Write segments back as text (the inverse of `parse_path`)."""
    out = ""
    for segment in path:
        match segment:
            case Key(name):
                out += f".{name}" if out else name
            case Index(position):
                out += f"[{position}]"
            case Select(key, value):
                out += f"[{key}={value}]"
    return out


def read_path(record: Any, path: Path) -> Any:
    """Return the value at `path` in `record`, or None when any step is missing."""
    current = record
    for segment in path:
        match segment:
            case Key(name) if isinstance(current, Mapping):
                current = current.get(name)
            case Index(position) if _is_list(current):
                current = current[position] if position < len(current) else None
            case Select(key, value) if _is_list(current):
                current = next(
                    (
                        item
                        for item in current
                        if isinstance(item, Mapping) and str(item.get(key)) == value
                    ),
                    None,
                )
            case _:
                return None
        if current is None:
            return None
    return current


def write_path(target: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path` in `target`, creating intermediate dicts and lists."""
    container: Any = target
    for segment, following in pairwise(path):
        empty: Any = [] if isinstance(following, Index) else {}
        container = _child(container, segment, empty)
    last = path[-1]
    if isinstance(last, Key):
        container[last.name] = value
    elif isinstance(last, Index):
        _pad(container, last.position)
        container[last.position] = value
    else:
        raise ValueError("cannot write through a selector")


def _child(container: Any, segment: Segment, empty: Any) -> Any:
    if isinstance(segment, Key):
        if container.get(segment.name) is None:
            container[segment.name] = empty
        return container[segment.name]
    if isinstance(segment, Index):
        _pad(container, segment.position)
        if container[segment.position] is None:
            container[segment.position] = empty
        return container[segment.position]
    raise ValueError("cannot write through a selector")


def _pad(container: list[Any], position: int) -> None:
    container.extend([None] * (position + 1 - len(container)))


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
