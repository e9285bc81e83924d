"""The breaking-change gate: each API version's OpenAPI document against its snapshot.

Snapshots live in the repository as ``openapi/<layer>/<name>/v<major>.json``. Within a
major version the live document may only change compatibly; a breaking change needs a new
major version, or a deliberate new snapshot (``ledgerbridge contracts snapshot``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledgerbridge.runtime.versioning._compat import BreakingChange, breaking_changes

__all__ = ["ContractCheck", "ContractState", "check_contracts", "snapshot_path", "write_snapshots"]


class ContractState(enum.StrEnum):
    """How a live document stands against its snapshot."""

    UNCHANGED = "unchanged"
    COMPATIBLE = "compatible"
    BREAKING = "breaking"
    NO_SNAPSHOT = "no-snapshot"
    NOT_SERVED = "not-served"

    @property
    def fails(self) -> bool:
        """Whether this state fails the gate (a new version has no contract to break yet)."""
        return self in {ContractState.BREAKING, ContractState.NOT_SERVED}


@dataclass(frozen=True, slots=True)
class ContractCheck:
    """The verdict on one API version."""

    base_path: str
    state: ContractState
    changes: tuple[BreakingChange, ...] = field(default=())


def snapshot_path(root: Path, base_path: str) -> Path:
    """Where the snapshot of the version at ``base_path`` (``/system/x/v1``) lives."""
    return root / f"{base_path.strip('/')}.json"


def _dump(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_snapshots(live: Mapping[str, Mapping[str, Any]], root: Path) -> list[Path]:
    """Write every live document as its snapshot; returns the files that changed."""
    written = []
    for base_path, doc in live.items():
        path = snapshot_path(root, base_path)
        text = _dump(doc)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def check_contracts(live: Mapping[str, Mapping[str, Any]], root: Path) -> list[ContractCheck]:
    """Compare each live document with its snapshot, and find snapshots no API serves."""
    checks = []
    for base_path, doc in sorted(live.items()):
        path = snapshot_path(root, base_path)
        if not path.exists():
            checks.append(ContractCheck(base_path, ContractState.NO_SNAPSHOT))
            continue
        snapshot = json.loads(path.read_text(encoding="utf-8"))
        if _dump(snapshot) == _dump(doc):
            checks.append(ContractCheck(base_path, ContractState.UNCHANGED))
            continue
        changes = tuple(breaking_changes(snapshot, doc))
        state = ContractState.BREAKING if changes else ContractState.COMPATIBLE
        checks.append(ContractCheck(base_path, state, changes))
    served = {snapshot_path(root, base_path) for base_path in live}
    for path in sorted(root.rglob("v*.json")):
        if path not in served:
            base_path = "/" + path.relative_to(root).with_suffix("").as_posix()
            checks.append(ContractCheck(base_path, ContractState.NOT_SERVED))
    return checks
