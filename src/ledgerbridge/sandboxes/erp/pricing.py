"""Sales prices: PR00 condition records, and their determination for order items.

A record applies to a material in a sales organisation and distribution channel
(condition table 304) or, more specifically, also to one customer (table 305), within
its validity dates. Determination prefers the customer-specific record, then the most
recent one, as an access sequence would; deleted records never apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.erp.errors import bad_request
from ledgerbridge.sandboxes.erp.payloads import Clock, Created, children, day, decode, writable
from ledgerbridge.sandboxes.erp.services.pricing_condition import (
    CONDITION_RECORD,
    CONDITION_VALIDITY,
)
from ledgerbridge.sandboxes.erp.store import Store

PRICE = "PR00"
OPEN_END = datetime(9999, 12, 31, tzinfo=UTC)
_TABLES = {
    "304": ("SalesOrganization", "DistributionChannel", "Material"),
    "305": ("SalesOrganization", "DistributionChannel", "Material", "Customer"),
}


@dataclass(frozen=True)
class Price:
    """A determined price: rate per quantity, its currency and the record it came from."""

    rate: Decimal
    per: Decimal
    currency: str
    record: str


class Pricing:
    """Keeps condition records and finds the price of a material for an order."""

    def __init__(self, store: Store, user: str, clock: Clock) -> None:
        self._store = store
        self._user = user
        self._clock = clock

    def create_record(self, payload: Mapping[str, Any]) -> Created:
        """Create a PR00 record with its validity periods (deep insert)."""
        values, navs = decode(CONDITION_RECORD, payload)
        table = str(values.get("ConditionTable") or "304")
        if values.get("ConditionType", PRICE) != PRICE or table not in _TABLES:
            raise bad_request(
                "Only condition type PR00 in tables 304 and 305 is supported", code="VK/001"
            )
        if values.get("ConditionRateValue") is None or not values.get("ConditionRateValueUnit"):
            raise bad_request("Enter a condition rate and its currency", code="VK/002")
        periods = children(navs.get("to_SlsPrcgCndnRecdValidity", []), "to_SlsPrcgCndnRecdValidity")
        if not periods:
            raise bad_request("Enter at least one validity period", code="VK/003")
        number = str(self._store.next_number("ConditionRecord", 1)).zfill(10)
        today = day(self._clock())
        validities = [self._validity(number, table, raw) for raw in periods]
        values = writable(values)
        currency = str(values["ConditionRateValueUnit"])
        values.update(
            ConditionRecord=number,
            ConditionTable=table,
            ConditionType=PRICE,
            ConditionCalculationType="C",
            ConditionCurrency=currency,
            ConditionValidityStartDate=validities[0]["ConditionValidityStartDate"],
            ConditionValidityEndDate=validities[0]["ConditionValidityEndDate"],
            CreationDate=today,
            CreatedByUser=self._user,
        )
        values.setdefault("ConditionApplication", "V")
        values.setdefault("ConditionQuantity", Decimal(1))
        values.setdefault("ConditionIsDeleted", False)
        values.setdefault("ConditionSequentialNumber", "01")
        self._store.insert("A_SlsPrcgConditionRecord", (number,), values)
        for validity in validities:
            key = (number, str(validity["ConditionValidityEndDate"]))
            if self._store.get("A_SlsPrcgCndnRecdValidity", key) is not None:
                raise bad_request("Validity periods overlap", code="VK/004")
            self._store.insert("A_SlsPrcgCndnRecdValidity", key, validity)
        return Created(CONDITION_RECORD, (number,))

    def _validity(self, number: str, table: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        values = decode(CONDITION_VALIDITY, raw)[0]
        for field in _TABLES[table]:
            if not values.get(field):
                raise bad_request(f"Enter {field} for condition table {table}", code="VK/005")
        material = str(values["Material"])
        if self._store.get("A_Product", (material,)) is None:
            raise bad_request(f"Material {material} does not exist", code="VK/006")
        start = values.get("ConditionValidityStartDate")
        end = values.get("ConditionValidityEndDate") or OPEN_END
        if start is None or end < start:
            raise bad_request("Enter a validity start on or before its end", code="VK/007")
        values.update(
            ConditionRecord=number,
            ConditionValidityEndDate=end,
            ConditionType=PRICE,
            ConditionReleaseStatus="",
        )
        values.setdefault("ConditionApplication", "V")
        return values

    def determine(self, order: Mapping[str, Any], material: str) -> Price | None:
        """The PR00 price of `material` for `order` on its pricing date, if any applies."""
        pricing_date = order.get("PricingDate") or order.get("SalesOrderDate")
        best: tuple[tuple[bool, str], Price] | None = None
        for validity in self._store.find("A_SlsPrcgCndnRecdValidity", Material=material):
            v = validity.values
            if not (
                v["ConditionValidityStartDate"] <= pricing_date <= v["ConditionValidityEndDate"]
            ):
                continue
            if (v.get("SalesOrganization"), v.get("DistributionChannel")) != (
                order.get("SalesOrganization"),
                order.get("DistributionChannel"),
            ):
                continue
            if v.get("Customer") and v["Customer"] != order.get("SoldToParty"):
                continue
            record = self._store.get("A_SlsPrcgConditionRecord", (str(v["ConditionRecord"]),))
            if record is None or record.values.get("ConditionIsDeleted"):
                continue
            rank = (bool(v.get("Customer")), str(v["ConditionRecord"]))
            price = Price(
                rate=record.values["ConditionRateValue"],
                per=record.values.get("ConditionQuantity") or Decimal(1),
                currency=str(record.values["ConditionRateValueUnit"]),
                record=str(v["ConditionRecord"]),
            )
            if best is None or rank > best[0]:
                best = (rank, price)
        return None if best is None else best[1]
