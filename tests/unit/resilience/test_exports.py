"""The public surface of the resilience package stays sorted and complete."""

from __future__ import annotations

import ledgerbridge.runtime.resilience as resilience


def _kind_then_name(name: str) -> tuple[int, str]:
    # Constants, then classes, then functions, each alphabetical (ruff's isort-style order).
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_every_exported_name_exists_and_the_list_is_sorted() -> None:
    """``__all__`` is sorted (constants, classes, functions) and each name in it resolves."""
    assert resilience.__all__ == sorted(resilience.__all__, key=_kind_then_name)
    for name in resilience.__all__:
        assert getattr(resilience, name) is not None


def test_no_public_name_is_left_out_of_all() -> None:
    """Every public attribute defined by the package is listed in ``__all__``."""
    public = {n for n in vars(resilience) if not n.startswith("_")}
    assert public == set(resilience.__all__)
