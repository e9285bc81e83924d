"""Seeding the CRM in-process: rows written straight into its store, under the planned ids.

Values pass through the sandbox's own field coercion, and the fields the org derives (system
stamps, contact names, order and item numbers, an item's product, line totals, order totals,
a price book entry's name and product code) are filled as its save rules fill them. What the
rules would look up by scanning the whole store (the items of an order, the product of an
entry) is known here from the plan, which is what makes a hundred thousand rows a matter of
seconds. The org's counters
are moved past the planned ids and numbers, so records created later never collide.
Seeded data is a starting state: it records no change events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.crm.objects import USER_ID, sobject
from ledgerbridge.sandboxes.crm.records import Records
from ledgerbridge.sandboxes.crm.schema import SObjectType
from ledgerbridge.sandboxes.crm.store import Store
from ledgerbridge.sandboxes.crm.values import coerce, format_datetime, money

Fields = Mapping[str, Any]


def _type(name: str) -> SObjectType:
    found = sobject(name)
    if found is None:
        raise KeyError(name)
    return found


class DirectCrm:
    """A CRM seeding target writing into a sandbox org's store (see the module docstring).

    sink = DirectCrm(Store("var/crm.sqlite3"))
    ...  # seeding calls create and create_orders
    sink.finish(last_sequence)
    """

    def __init__(self, store: Store) -> None:
        records = store.execute("SELECT count(*) FROM records WHERE sobject != 'Pricebook2'")
        if records[0][0]:
            raise ValueError("the CRM database already holds data; seed a fresh one")
        self.store = store
        self.written = 0
        self._pricebook = Records(store, store.clock).ensure_standard_pricebook()
        self._names: dict[str, tuple[str, str]] = {}
        self._entry_products: dict[str, str] = {}
        self._numbers = {"order-number": 99, "order-item-number": 0}

    def standard_pricebook(self) -> str:
        """The id of the org's Standard Price Book."""
        return self._pricebook

    def create(self, sobject_name: str, records: Sequence[tuple[str, Fields]]) -> list[str]:
        """Insert records under their planned ids; those ids."""
        kind = _type(sobject_name)
        with self.store.transaction():
            for record_id, fields in records:
                data = self._row(kind, record_id, fields, self.store.clock())
                if kind.name == "Contact":
                    data["Name"] = " ".join(p for p in (data["FirstName"], data["LastName"]) if p)
                elif kind.name == "Product2":
                    self._names[record_id] = (data["Name"], data["ProductCode"])
                elif kind.name == "PricebookEntry":
                    data["Name"], data["ProductCode"] = self._names[data["Product2Id"]]
                    self._entry_products[record_id] = data["Product2Id"]
                self._insert(kind, data)
        return [record_id for record_id, _ in records]

    def create_orders(
        self,
        orders: Sequence[tuple[str, Fields, Sequence[tuple[str, Fields]]]],
    ) -> None:
        """Insert orders with their items under the planned ids; totals as the org sums them."""
        order_type, item_type = _type("Order"), _type("OrderItem")
        with self.store.transaction():
            for order_id, fields, items in orders:
                stamp = datetime.combine(date.fromisoformat(fields["EffectiveDate"]), time(9), UTC)
                rows = [self._row(item_type, i, f, stamp) for i, f in items]
                for row in rows:
                    # As the org's save rule does: an item's product is its entry's.
                    row["Product2Id"] = self._entry_products.get(row["PricebookEntryId"])
                    row["OrderItemNumber"] = self._next("order-item-number", 10)
                    row["TotalPrice"] = money(Decimal(row["Quantity"]) * row["UnitPrice"])
                order = self._row(order_type, order_id, fields, stamp)
                order["OrderNumber"] = self._next("order-number", 8)
                order["TotalAmount"] = money(sum((r["TotalPrice"] for r in rows), Decimal(0)))
                self._insert(order_type, order)
                for row in rows:
                    self._insert(item_type, row)

    def finish(self, last_sequence: int) -> None:
        """Move the org's id and number counters past everything seeded."""
        with self.store.transaction():
            for name, value in (("id", last_sequence), *self._numbers.items()):
                self.store.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
                    (name, value),
                )

    def _next(self, counter: str, width: int) -> str:
        self._numbers[counter] += 1
        return f"{self._numbers[counter]:0{width}d}"

    def _row(
        self, kind: SObjectType, record_id: str, fields: Fields, when: datetime
    ) -> dict[str, Any]:
        data: dict[str, Any] = {f.name: f.default for f in kind.fields}
        for name, value in fields.items():
            field = kind.field(name)
            if field is None:
                raise KeyError(f"{kind.name} has no field {name}")
            data[field.name] = coerce(field, value)
        stamp = format_datetime(when)
        data.update(
            Id=record_id,
            IsDeleted=False,
            CreatedDate=stamp,
            CreatedById=USER_ID,
            LastModifiedDate=stamp,
            LastModifiedById=USER_ID,
            SystemModstamp=stamp,
        )
        return data

    def _insert(self, kind: SObjectType, data: dict[str, Any]) -> None:
        self.store.insert(kind.name, data["Id"], data)
        self.written += 1
