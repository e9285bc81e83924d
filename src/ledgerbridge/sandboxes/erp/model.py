"""A small declarative OData V2 model: services, entity types, properties, navigation.

The sandbox describes each SAP service once here; $metadata, wire encoding, key parsing
and $filter typing are all derived from these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Prop:
    """One structural property with its Edm type and facets."""

    name: str
    edm_type: str = "Edm.String"
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    etag: bool = False
    label: str | None = None


@dataclass(frozen=True)
class Nav:
    """A navigation property: the target set and how keys link the two ends."""

    name: str
    target: str
    many: bool
    # (source property, target property) pairs that join the two ends
    join: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EntityType:
    """An entity type bound to exactly one entity set (as in SAP's A2X APIs)."""

    name: str
    entity_set: str
    keys: tuple[str, ...]
    props: tuple[Prop, ...]
    navs: tuple[Nav, ...] = ()

    @property
    def type_name(self) -> str:
        """SAP names types after their set with a `Type` suffix."""
        return f"{self.name}Type"

    def prop(self, name: str) -> Prop | None:
        """The property called `name`, if any."""
        return self._props_by_name.get(name)

    def nav(self, name: str) -> Nav | None:
        """The navigation property called `name`, if any."""
        return next((n for n in self.navs if n.name == name), None)

    @cached_property
    def _props_by_name(self) -> dict[str, Prop]:
        return {p.name: p for p in self.props}


@dataclass(frozen=True)
class ComplexType:
    """A structured value without identity, such as a function's result rows."""

    name: str
    props: tuple[Prop, ...]


@dataclass(frozen=True)
class FunctionImport:
    """A service operation (`/Service/Name?Param='x'`).

    It returns one entity of the set `returns`, or, with `returns_complex`, a collection
    of the complex type of that name.
    """

    name: str
    http_method: str
    params: tuple[Prop, ...]
    returns: str
    returns_complex: bool = False


@dataclass(frozen=True)
class Service:
    """One OData service (a namespace with its entity container)."""

    name: str
    entity_types: tuple[EntityType, ...]
    functions: tuple[FunctionImport, ...] = ()
    complex_types: tuple[ComplexType, ...] = ()
    _by_set: dict[str, EntityType] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_set.update({t.entity_set: t for t in self.entity_types})

    @property
    def container(self) -> str:
        """Name of the entity container (SAP appends `_Entities`)."""
        return f"{self.name}_Entities"

    def entity(self, entity_set: str) -> EntityType | None:
        """The entity type behind `entity_set`, if the service has it."""
        return self._by_set.get(entity_set)

    def complex_type(self, name: str) -> ComplexType | None:
        """The complex type called `name`, if any."""
        return next((c for c in self.complex_types if c.name == name), None)

    def function(self, name: str) -> FunctionImport | None:
        """The function import called `name`, if any."""
        return next((f for f in self.functions if f.name == name), None)

    def qualified(self, entity: EntityType) -> str:
        """Namespace-qualified type name, as used in __metadata.type."""
        return f"{self.name}.{entity.type_name}"


def string(name: str, length: int, *, nullable: bool = True) -> Prop:
    """An Edm.String property with its MaxLength."""
    return Prop(name, "Edm.String", max_length=length, nullable=nullable)


def date(name: str) -> Prop:
    """An Edm.DateTime property holding a date (SAP's Precision 0 dates)."""
    return Prop(name, "Edm.DateTime", precision=0)


def decimal(name: str, precision: int = 16, scale: int = 3) -> Prop:
    """An Edm.Decimal property (amounts default to SAP's 16,3)."""
    return Prop(name, "Edm.Decimal", precision=precision, scale=scale)


def boolean(name: str) -> Prop:
    """An Edm.Boolean property."""
    return Prop(name, "Edm.Boolean")


def changed_at(*, etag: bool) -> Prop:
    """LastChangeDateTime, the change stamp; `etag` marks it ConcurrencyMode=Fixed."""
    return Prop("LastChangeDateTime", "Edm.DateTimeOffset", precision=7, etag=etag)
