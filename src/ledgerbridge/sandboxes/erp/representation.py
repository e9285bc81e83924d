"""OData V2 JSON representation of entities: __metadata, ETags, $select and $expand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ledgerbridge.sandboxes.erp.errors import bad_request
from ledgerbridge.sandboxes.erp.model import EntityType, Nav, Service
from ledgerbridge.sandboxes.erp.store import Record, Store
from ledgerbridge.sandboxes.erp.values import to_json

ExpandTree = dict[str, "ExpandTree"]


def typed_values(entity: EntityType, record: Record) -> dict[str, Any]:
    """The entity's values with its change time filled into LastChangeDateTime."""
    values = dict(record.values)
    if entity.prop("LastChangeDateTime") is not None:
        values["LastChangeDateTime"] = record.changed_at
    if entity.prop("ETag") is not None:
        values["ETag"] = record.changed_at.strftime("%Y%m%d%H%M%S.%f0")
    return values


def etag_of(record: Record) -> str:
    """A weak ETag in SAP's form, derived from the entity's last change time."""
    stamp = record.changed_at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    return f"W/\"datetimeoffset'{quote(stamp, safe='')}'\""


def key_predicate(entity: EntityType, values: Mapping[str, Any]) -> str:
    """The `(...)` key segment of an entity's URI, each key as a literal of its type."""

    def literal(name: str) -> str:
        value = values[name]
        if isinstance(value, datetime):
            return "datetime'" + quote(value.strftime("%Y-%m-%dT%H:%M:%S"), safe="") + "'"
        return "'" + quote(str(value).replace("'", "''"), safe="") + "'"

    if len(entity.keys) == 1:
        return f"({literal(entity.keys[0])})"
    return "(" + ",".join(f"{n}={literal(n)}" for n in entity.keys) + ")"


def parse_expand(text: str | None, entity: EntityType, service: Service) -> ExpandTree:
    """Turn `to_Item,to_Item/to_PricingElement` into a tree, checking every step."""
    tree: ExpandTree = {}
    for path in filter(None, (p.strip() for p in (text or "").split(","))):
        node, current = tree, entity
        for step in path.split("/"):
            nav = current.nav(step)
            target = service.entity(nav.target) if nav else None
            if nav is None or target is None:
                raise bad_request(
                    f"Navigation property '{step}' not found in '{current.type_name}'"
                )
            node = node.setdefault(step, {})
            current = target
    return tree


def parse_select(text: str | None, entity: EntityType) -> set[str] | None:
    """Top-level names in $select (None means all); nav paths select their navigation."""
    if not text or text.strip() == "*":
        return None
    names = {p.strip().split("/")[0] for p in text.split(",") if p.strip()}
    for name in names:
        if entity.prop(name) is None and entity.nav(name) is None:
            raise bad_request(f"Property '{name}' not found in type '{entity.type_name}'")
    return names


class Renderer:
    """Writes entities of one service as V2 JSON objects."""

    def __init__(self, service: Service, store: Store, service_root: str) -> None:
        self._service = service
        self._store = store
        self._root = service_root.rstrip("/")

    def uri(self, entity: EntityType, values: Mapping[str, Any]) -> str:
        """Absolute URI of an entity."""
        return f"{self._root}/{entity.entity_set}{key_predicate(entity, values)}"

    def related(self, entity: EntityType, record: Record, nav: Nav) -> list[Record]:
        """Records reached from `record` over `nav`, in creation order."""
        wanted = {target: str(record.values.get(source)) for source, target in nav.join}
        return self._store.find(nav.target, **wanted)

    def entity_json(
        self,
        entity: EntityType,
        record: Record,
        *,
        expand: ExpandTree | None = None,
        select: set[str] | None = None,
    ) -> dict[str, Any]:
        """One entity as its JSON object, with deferred or expanded navigation."""
        expand = expand or {}
        values = typed_values(entity, record)
        uri = self.uri(entity, values)
        body: dict[str, Any] = {
            "__metadata": {
                "id": uri,
                "uri": uri,
                "type": self._service.qualified(entity),
                "etag": etag_of(record),
            }
        }
        for prop in entity.props:
            if select is None or prop.name in select or prop.name in entity.keys:
                body[prop.name] = to_json(prop, values.get(prop.name))
        for nav in entity.navs:
            if select is not None and nav.name not in select and nav.name not in expand:
                continue
            target = self._service.entity(nav.target)
            if target is None:
                continue
            if nav.name not in expand:
                body[nav.name] = {"__deferred": {"uri": f"{uri}/{nav.name}"}}
                continue
            children = [
                self.entity_json(target, r, expand=expand[nav.name])
                for r in self.related(entity, record, nav)
            ]
            if nav.many:
                body[nav.name] = {"results": children}
            else:
                body[nav.name] = children[0] if children else None
        return body


def sort_key(values: Mapping[str, Any], name: str) -> tuple[int, Any]:
    """Order None first, then by value (datetimes and decimals compare natively)."""
    value = values.get(name)
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.timestamp())
    return (1, value)
