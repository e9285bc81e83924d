"""The mapping README stays in step with what ships."""

from __future__ import annotations

from pathlib import Path

import ledgerbridge.mapping
from ledgerbridge.mapping import MappingRegistry
from ledgerbridge.mapping._transforms import known_transform

README = (Path(ledgerbridge.mapping.__file__).parent / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_shipped_mapping() -> None:
    """Each mapping in the package has a row in the README's table, with its shapes."""
    for mapping in MappingRegistry().load_all():
        assert f"| `{mapping.id}` | {mapping.spec.source} | {mapping.spec.target} |" in README


def test_readme_transforms_exist() -> None:
    """Every transform the README names in its table is registered."""
    table = README.split("## Transforms")[1].split("## Errors")[0]
    names = [
        cell.strip("` ").split(":")[0]
        for line in table.splitlines()
        if line.startswith("| `")
        for cell in line.split("|")[1].split(",")
    ]
    assert len(names) >= 20
    for name in names:
        problem = known_transform(name)
        assert problem is None or "needs an argument" in problem, problem
