"""Client payloads: decoding against the model, child lists of deep inserts, keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledgerbridge.sandboxes.erp.errors import bad_request
from ledgerbridge.sandboxes.erp.model import EntityType
from ledgerbridge.sandboxes.erp.values import from_json

Clock = Callable[[], datetime]

# Properties the system derives; clients may send them but their values are not taken.
COMPUTED = frozenset(
    {
        "CreationDate",
        "CreatedByUser",
        "LastChangeDate",
        "LastChangeDateTime",
        "LastChangedByUser",
        "TotalNetAmount",
        "NetAmount",
        "OverallSDProcessStatus",
        "TotalCreditCheckStatus",
        "OverallTotalDeliveryStatus",
        "OverallSDDocumentRejectionSts",
        "SDProcessStatus",
        "DeliveryStatus",
        "OrderRelatedBillingStatus",
        "ConditionAmount",
        "CreditExposureAmount",
        "CreditLimitLastChangeDate",
        "CreditLimitIsZero",
        "ClearedAmount",
        "ResidualAmount",
        "ClearingStatus",
    }
)


@dataclass(frozen=True)
class Created:
    """The entity type and key of a newly created (or changed) root entity."""

    entity: EntityType
    key: tuple[str, ...]


def key_of(entity: EntityType, values: Mapping[str, Any]) -> tuple[str, ...]:
    """The key tuple of an entity's values."""
    return tuple(str(values[k]) for k in entity.keys)


def day(moment: datetime) -> datetime:
    """Midnight UTC of `moment`: SAP's Edm.DateTime dates carry no time."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def decode(entity: EntityType, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a JSON payload into typed properties and raw navigation payloads."""
    values: dict[str, Any] = {}
    navs: dict[str, Any] = {}
    for name, raw in payload.items():
        if name == "__metadata":
            continue
        if entity.nav(name) is not None:
            navs[name] = raw
            continue
        prop = entity.prop(name)
        if prop is None:
            raise bad_request(
                f"Property '{name}' is invalid for type '{entity.type_name}'",
                code="/IWBEP/CM_MGW_RT/004",
            )
        values[name] = from_json(prop, raw)
    return values, navs


def writable(values: dict[str, Any]) -> dict[str, Any]:
    """The client's values without the ones the system derives."""
    return {k: v for k, v in values.items() if k not in COMPUTED}


def children(raw: Any, nav: str) -> list[Mapping[str, Any]]:
    """The entities of a to-many deep insert, given as a list or as {"results": [...]}."""
    items = raw.get("results") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise bad_request(f"Navigation property '{nav}' expects a list of entities")
    return items
