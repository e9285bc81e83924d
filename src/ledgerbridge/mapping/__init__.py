"""Declarative mappings between backend record shapes and the canonical model.

Each mapping is a YAML spec in ``mappings/``: for every target field, the source path it comes
from, the named transforms it goes through, a default, whether it is required, or another
mapping to apply to each element of a list. The engine reports every failure as a
`ledgerbridge.runtime.errors.MappingError` naming the mapping, record, source field, value and
rule, and knows each field's lineage. What a backend sends is screened first: control
characters, oversize text and values of the wrong type are an `UnsafePayload` (a 502).
"""

from ledgerbridge.mapping._engine import Lineage, Mapping
from ledgerbridge.mapping._registry import MappingRegistry, apply, load_mapping
from ledgerbridge.mapping._screen import UnsafePayload
from ledgerbridge.mapping._spec import MappingSpecError
from ledgerbridge.mapping._transforms import Transform, ValueMaps, register_transform

__all__ = [
    "Lineage",
    "Mapping",
    "MappingRegistry",
    "MappingSpecError",
    "Transform",
    "UnsafePayload",
    "ValueMaps",
    "apply",
    "load_mapping",
    "register_transform",
]
