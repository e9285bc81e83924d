"""Finding, loading and validating mapping spec files.

Strictly private; `MappingRegistry` and `load_mapping` are re-exported by the package.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ledgerbridge.mapping._engine import Mapping, Record
from ledgerbridge.mapping._spec import MappingSpec, MappingSpecError

__all__ = ["MappingRegistry", "apply", "load_mapping"]

_TABLE = TypeAdapter(dict[str, Any])


class MappingRegistry:
    """Loads ``<name>.yaml`` specs from one folder, validates them and caches the result.

    Usage::

        registry = MappingRegistry()                 # the mappings shipped with ledgerbridge
        registry.get("salesforce_order_to_order").apply(order_json)
        MappingRegistry(Path("my_mappings")).load_all()   # check a folder of specs
    """

    def __init__(self, directory: Path | Traversable | None = None) -> None:
        self._directory = directory or files("ledgerbridge.mapping") / "mappings"
        self._loaded: dict[str, Mapping] = {}
        self._loading: set[str] = set()
        self._shared: dict[str, dict[str, Any]] | None = None

    def names(self) -> list[str]:
        """List the mapping names available in the folder."""
        return sorted(
            entry.name.removesuffix(".yaml")
            for entry in self._directory.iterdir()
            if entry.name.endswith(".yaml")
        )

    def load_all(self) -> list[Mapping]:
        """Load and validate every spec in the folder."""
        return [self.get(name) for name in self.names()]

    def get(self, name: str) -> Mapping:
        """Return the mapping called `name`, loading it (and the mappings it uses) once.

        Raises:
            MappingSpecError: the file is missing, is not valid YAML, or breaks the spec rules.
        """
        if name in self._loaded:
            return self._loaded[name]
        if name in self._loading:
            raise MappingSpecError(f"mapping {name!r} uses itself through 'each'")
        self._loading.add(name)
        try:
            spec = self._read(name)
            children = {
                field.each: self._child(name, field.each)
                for field in spec.fields
                if field.each is not None
            }
            self._loaded[name] = Mapping(spec, children, self.shared_value_maps())
        finally:
            self._loading.discard(name)
        return self._loaded[name]

    def shared_value_maps(self) -> dict[str, dict[str, Any]]:
        """Return the tables every spec here may use: one per ``value_maps/<name>.yaml``.

        Raises:
            MappingSpecError: a table file is not a mapping of text keys.
        """
        if self._shared is None:
            folder = self._directory / "value_maps"
            entries = sorted(folder.iterdir(), key=lambda e: e.name) if folder.is_dir() else []
            self._shared = {
                entry.name.removesuffix(".yaml"): self._table(entry)
                for entry in entries
                if entry.name.endswith(".yaml")
            }
        return self._shared

    def _table(self, where: Traversable) -> dict[str, Any]:
        try:
            return _TABLE.validate_python(yaml.safe_load(where.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError) as exc:
            raise MappingSpecError(
                f"value map {where}: expected a table of text keys: {exc}"
            ) from exc

    def _child(self, parent: str, name: str) -> Mapping:
        if name not in self.names():
            raise MappingSpecError(f"mapping {parent!r}: 'each' names unknown mapping {name!r}")
        return self.get(name)

    def _read(self, name: str) -> MappingSpec:
        where = self._directory / f"{name}.yaml"
        if not where.is_file():
            raise MappingSpecError(f"no mapping named {name!r} (looked for {where})")
        try:
            raw = yaml.safe_load(where.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise MappingSpecError(f"mapping spec {where}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise MappingSpecError(f"mapping spec {where}: expected a mapping at the top level")
        try:
            spec = MappingSpec.model_validate(
                raw, context={"shared_value_maps": set(self.shared_value_maps())}
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or '(spec)'}: {error['msg']}"
                for error in exc.errors()
            )
            raise MappingSpecError(f"mapping spec {where}: {problems}") from exc
        if spec.id != name:
            raise MappingSpecError(
                f"mapping spec {where}: id {spec.id!r} differs from the file name"
            )
        return spec


@cache
def _shipped() -> MappingRegistry:
    return MappingRegistry()


def load_mapping(name: str) -> Mapping:
    """Return the shipped mapping called `name` (loaded and validated once per process).

    Raises:
        MappingSpecError: no such mapping, or its spec is invalid.
    """
    return _shipped().get(name)


def apply(name: str, record: Record, *, record_id: str | None = None) -> dict[str, Any]:
    """Map `record` with the shipped mapping called `name` (see `Mapping.apply`)."""
    return load_mapping(name).apply(record, record_id=record_id)
