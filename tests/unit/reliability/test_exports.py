"""The public surface of the messaging package stays sorted and importable."""

from __future__ import annotations

import ledgerbridge.runtime.messaging as messaging


def _kind_then_name(name: str) -> tuple[int, str]:
    # Constants, then classes, then functions, each alphabetical (ruff's isort-style order).
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_every_exported_name_exists_and_the_list_is_sorted() -> None:
    """``__all__`` is sorted (constants, classes, functions) and each name in it resolves."""
    assert messaging.__all__ == sorted(messaging.__all__, key=_kind_then_name)
    for name in messaging.__all__:
        assert getattr(messaging, name) is not None


def test_no_public_name_is_left_out_of_all() -> None:
    """Every public attribute defined by the package is listed in ``__all__``."""
    public = {n for n in vars(messaging) if not n.startswith("_")}
    assert public == set(messaging.__all__)
