"""The mapping engine: runs a validated spec over a record, and traces fields to their source.

Strictly private; `Mapping` is re-exported by the package.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping as RecordMapping
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from ledgerbridge.mapping._paths import (
    Index,
    Key,
    Path,
    parse_path,
    read_path,
    render_path,
    write_path,
)
from ledgerbridge.mapping._screen import UnsafePayload, backend_of, screen, unsafe_text
from ledgerbridge.mapping._spec import FieldSpec, MappingSpec
from ledgerbridge.mapping._transforms import ValueMaps, run_transform
from ledgerbridge.runtime.errors import MappingError

__all__ = ["Lineage", "Mapping", "Record"]

ModelT = TypeVar("ModelT", bound=BaseModel)
Record = RecordMapping[str, Any] | BaseModel


class Lineage(NamedTuple):
    """Which source path feeds which target path, and through what rule."""

    source: str | None
    target: str
    transform: str


class _FieldFailure(Exception):
    """Strictly private: a field failed; `apply` adds the mapping and record and re-raises."""

    def __init__(self, field: str, value: Any, rule: str) -> None:
        super().__init__(field, value, rule)
        self.field, self.value, self.rule = field, value, rule


class _Unsafe(_FieldFailure):
    """Strictly private: a backend's value is unsafe (see ``_screen``); becomes UnsafePayload."""


_CAUGHT = (ValueError, TypeError, ArithmeticError, KeyError)
# Pydantic's "wrong type" errors: the backend sent a value of another kind than the field's.
_TYPE_ERROR = "_type"


class Mapping:
    """A loaded mapping: translates one record shape into another, field by field.

    Usage::

        party_map = load_mapping("salesforce_account_to_party")
        payload = party_map.apply(account_json)                 # a plain dict
        party = party_map.to_model(account_json, Party)         # validated, or MappingError
        party_map.lineage()       # [Lineage("Name", "name", "copy"), ...]
    """

    def __init__(
        self,
        spec: MappingSpec,
        children: RecordMapping[str, Mapping],
        shared_value_maps: ValueMaps | None = None,
    ) -> None:
        self.spec = spec
        self._children = dict(children)
        # The spec's own tables win over shared ones of the same name.
        self._value_maps = {**(shared_value_maps or {}), **spec.value_maps}
        # Fields without a target are checks: they run in `_map` but feed no target path.
        self._targeted = [field for field in spec.fields if field.target is not None]
        self._paths = {str(f.target): parse_path(str(f.target)) for f in self._targeted}
        # Values read from a backend are screened (an unsafe one is the backend's fault);
        # canonical text bound for a backend is held to the same rule (the caller's fault).
        self.backend = backend_of(spec.source)

    @property
    def id(self) -> str:
        """The mapping id, as the spec file names it."""
        return self.spec.id

    def __repr__(self) -> str:
        return f"<Mapping {self.id}: {self.spec.source} -> {self.spec.target}>"

    def record_id_of(self, record: Record) -> str | None:
        """Return the record's id as read from the spec's `key` path, if there is one."""
        if self.spec.key is None:
            return None
        value = read_path(_plain(record), parse_path(self.spec.key))
        return None if value is None else str(value)

    def apply(self, record: Record, *, record_id: str | None = None) -> dict[str, Any]:
        """Map `record` into a plain dict in the target shape.

        Args:
            record: the source record (a dict as the backend's JSON, or a canonical model).
            record_id: names the record in errors; read from the spec's `key` when omitted.

        Returns:
            The target dict; fields whose source is absent and have no default are left out.

        Raises:
            MappingError: naming the mapping, record, source field, value and failed rule.
        """
        plain = _plain(record)
        try:
            return self._map(plain, None, None)
        except _Unsafe as failure:
            record_id = record_id or self.record_id_of(plain)
            raise self._unsafe(failure.field, failure.rule, record_id) from None
        except _FieldFailure as failure:
            raise MappingError(
                mapping_id=self.id,
                record_id=record_id or self.record_id_of(plain),
                field=failure.field,
                value=failure.value,
                rule=failure.rule,
            ) from failure.__cause__

    def to_model(
        self, record: Record, model_cls: type[ModelT], *, record_id: str | None = None
    ) -> ModelT:
        """Map `record` and validate the result as `model_cls`.

        A validation failure of the target model becomes a MappingError that names the source
        field which fed the failing target field (see `lineage`).
        """
        plain = _plain(record)
        try:
            data = self.apply(plain, record_id=record_id)
        except MappingError as exc:
            # A backend value of the wrong kind (a record for a number, say) is the backend's
            # fault, not a value our rules refuse.
            if self.backend is not None and isinstance(exc.__cause__, TypeError):
                raise self._unsafe(
                    exc.field, f"wrong type: {exc.__cause__}", exc.record_id
                ) from exc
            raise
        try:
            return model_cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = tuple(Index(p) if isinstance(p, int) else Key(str(p)) for p in first["loc"])
            target = render_path(loc) or model_cls.__name__
            origin = self._origin(loc, plain, None, None)
            if self.backend is not None and str(first["type"]).endswith(_TYPE_ERROR):
                raise self._unsafe(
                    origin[0] if origin else target,
                    f"wrong type: {model_cls.__name__}.{target}: {first['msg']}",
                    record_id or self.record_id_of(plain),
                ) from exc
            raise MappingError(
                mapping_id=self.id,
                record_id=record_id or self.record_id_of(plain),
                field=origin[0] if origin else target,
                value=origin[1] if origin else first.get("input"),
                rule=f"{model_cls.__name__}.{target}: {first['msg']}",
            ) from exc

    def _unsafe(self, field: str, rule: str, record_id: str | None) -> UnsafePayload:
        assert self.backend is not None
        return UnsafePayload(
            backend=self.backend, mapping_id=self.id, field=field, rule=rule, record_id=record_id
        )

    def lineage(self) -> list[Lineage]:
        """List (source, target, transform) per field; child mappings flattened with ``[]``."""
        return self._lineage("", "", "")

    def _lineage(self, source_prefix: str, target_prefix: str, parent_prefix: str) -> list[Lineage]:
        out: list[Lineage] = []
        for field in self._targeted:
            paths = [
                parent_prefix + path.removeprefix("$parent.")
                if path.startswith("$parent.")
                else path
                if path == "$index"
                else source_prefix + path
                for path in field.sources
            ]
            source = (" + " if field.join is not None else " | ").join(paths) or None
            out.append(Lineage(source, f"{target_prefix}{field.target}", field.rule))
            if field.each is not None:
                child = self._children[field.each]
                out.extend(
                    child._lineage(
                        f"{source}[].", f"{target_prefix}{field.target}[].", source_prefix
                    )
                )
        return out

    def _map(self, record: Any, parent: Any, index: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in self.spec.fields:
            if field.when is not None and _resolve(field.when, record, parent, index) is None:
                continue
            if "constant" in field.model_fields_set:
                write_path(out, self._paths[str(field.target)], copy.deepcopy(field.constant))
                continue
            value, used = self._read(field, record, parent, index)
            if self.backend is not None and value is not None and field.each is None:
                unsafe = screen(value, field.transform)
                if unsafe is not None:
                    raise _Unsafe(used, value, unsafe)
            elif isinstance(value, str) and (unsafe := unsafe_text(value)) is not None:
                raise _FieldFailure(used, value, unsafe)
            if value is None:
                value = copy.deepcopy(field.default)
            elif field.each is not None:
                value = self._each(field, value, record)
            else:
                value = self._transform(field, value, used)
            if value is None:
                if field.required:
                    raise _FieldFailure(used, None, "required")
                continue
            if field.target is not None:
                write_path(out, self._paths[field.target], value)
        return out

    def _read(
        self, field: FieldSpec, record: Any, parent: Any, index: int | None
    ) -> tuple[Any, str]:
        sources = field.sources
        if field.join is not None:
            values = [_resolve(path, record, parent, index) for path in sources]
            if all(value is None for value in values):
                return None, " + ".join(sources)
            joined = field.join.join("" if value is None else str(value) for value in values)
            return joined, " + ".join(sources)
        for path in sources:
            value = _resolve(path, record, parent, index)
            if value is not None:
                return value, path
        return None, " | ".join(sources)

    def _transform(self, field: FieldSpec, value: Any, used: str) -> Any:
        original = value
        for spec in field.transform:
            try:
                value = run_transform(spec, value, self._value_maps)
            except _CAUGHT as exc:
                raise _FieldFailure(used, original, f"{spec} ({exc})") from exc
        return value

    def _each(self, field: FieldSpec, items: Any, record: Any) -> list[dict[str, Any]]:
        child = self._children[field.each or ""]
        if not _is_list(items):
            raise _FieldFailure(str(field.source), items, f"each:{child.id} (expected a list)")
        out = []
        for position, item in enumerate(items):
            try:
                if not isinstance(item, RecordMapping):
                    raise _FieldFailure("", item, "expected a record")
                out.append(child._map(item, record, position + 1))
            except _FieldFailure as failure:
                where = f"{field.source}[{position}]" + (
                    f".{failure.field}" if failure.field else ""
                )
                # The same kind of failure, named at the parent's level.
                raise type(failure)(
                    where, failure.value, f"{failure.rule} in {child.id}"
                ) from failure.__cause__
        return out

    def _origin(
        self, loc: Path, record: Any, parent: Any, index: int | None
    ) -> tuple[str, Any] | None:
        """Find the source path and value that fed target `loc`, or None if none did."""
        if not loc:
            return None
        near: FieldSpec | None = None
        for field in self._targeted:
            target = self._paths[str(field.target)]
            depth = len(target)
            step = loc[depth] if len(loc) > depth else None
            if field.each is not None and loc[:depth] == target and isinstance(step, Index):
                items = read_path(record, parse_path(str(field.source)))
                item = items[step.position]
                inner = self._children[field.each]._origin(
                    loc[depth + 1 :], item, record, step.position + 1
                )
                where = f"{field.source}[{step.position}]"
                return (f"{where}.{inner[0]}", inner[1]) if inner else (where, item)
            if "constant" in field.model_fields_set:
                continue
            if target == loc:
                near = field
                break
            if near is None and (target[: len(loc)] == loc or loc[:depth] == target):
                near = field
        if near is None:
            return None
        value, used = self._read(near, record, parent, index)
        return used, value


def _resolve(path: str, record: Any, parent: Any, index: int | None) -> Any:
    segments = parse_path(path)
    if path == "$index":
        return index
    if path.startswith("$parent."):
        return read_path(parent, segments[1:])
    value = read_path(record, segments)
    # Both backends say "no value" two ways (null, and "" in OData); treat them alike.
    return None if value == "" else value


def _plain(record: Record) -> RecordMapping[str, Any]:
    return record.model_dump() if isinstance(record, BaseModel) else record


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
