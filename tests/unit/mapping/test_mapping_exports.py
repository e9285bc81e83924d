"""The mapping package's public surface."""

from __future__ import annotations

import types

import ledgerbridge.mapping as mapping


def test_all_lists_exactly_the_public_names() -> None:
    """Every public name of the package is in __all__, once, and every entry resolves."""
    public = {
        name
        for name, value in vars(mapping).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert len(mapping.__all__) == len(set(mapping.__all__))
    assert set(mapping.__all__) == public
