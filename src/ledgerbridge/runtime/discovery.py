"""Finds the APIs of a layer by convention, so the catalog is never a hand-kept list.

Each API is a subpackage of its layer with a ``views`` module that exposes ``API`` (its
metadata) and ``create_app(deps)``.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def api_view_modules(layer_package: str) -> list[ModuleType]:
    """The ``views`` module of every API package under ``layer_package``, sorted by name."""
    package = importlib.import_module(layer_package)
    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.ispkg and not info.name.startswith("_"):
            found.append(importlib.import_module(f"{layer_package}.{info.name}.views"))
    return found
