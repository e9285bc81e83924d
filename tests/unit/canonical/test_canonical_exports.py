"""The canonical package's public surface."""

from __future__ import annotations

import types

import ledgerbridge.canonical as canonical


def test_all_lists_exactly_the_public_names() -> None:
    """Every public name of the package is in __all__, once, and every entry resolves."""
    public = {
        name
        for name, value in vars(canonical).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert len(canonical.__all__) == len(set(canonical.__all__))
    assert set(canonical.__all__) == public
