"""Seeding the ERP in-process: its own business logic over memory, then one bulk write.

The ERP's components (master data, pricing, sales, billing, payments) do the work, so numbers,
statuses, prices, invoices and receivables come out exactly as the sandbox makes them over
HTTP. They run against `MemoryStore`, which keeps rows in dictionaries with an index per
filtered property: the SQLite store looks every row of a set up again per insert and per
filter, which is right for a server and far too slow for a hundred thousand rows. `flush`
then writes the rows into a sandbox database in one transaction, in the store's own format.
Seeded data is a starting state: it publishes no business events.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from ledgerbridge.sandboxes.erp.erp import Erp
from ledgerbridge.sandboxes.erp.services import SERVICES
from ledgerbridge.sandboxes.erp.store import Record, Store
from ledgerbridge.sandboxes.erp.values import to_storage

USER = "LEDGERBRIDGE"


def _key_text(key: tuple[str, ...]) -> str:
    # The store's key column: the key tuple as a JSON list.
    return json.dumps(list(key))


class MemoryStore(Store):
    """The ERP store's interface over dictionaries (its SQLite part holds only bookkeeping)."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self._rows: defaultdict[str, dict[str, Record]] = defaultdict(dict)
        self._seq: dict[tuple[str, str], int] = {}
        self._counter = 0
        # (set, property) -> value -> {key text: seq}
        self._by_value: dict[tuple[str, str], defaultdict[str, dict[str, int]]] = {}

    @property
    def row_count(self) -> int:
        """How many entity rows the store holds."""
        return sum(len(rows) for rows in self._rows.values())

    def insert(self, entity_set: str, key: tuple[str, ...], values: dict[str, Any]) -> Record:
        """Insert a new row; the caller has checked the key is free."""
        text = _key_text(key)
        self._counter += 1
        self._seq[entity_set, text] = self._counter
        record = Record(dict(values), self.stamp())
        self._rows[entity_set][text] = record
        self._reindex(entity_set, text, None, record.values)
        return Record(dict(values), record.changed_at)

    def update(self, entity_set: str, key: tuple[str, ...], values: dict[str, Any]) -> Record:
        """Replace the values of an existing row and move its change time."""
        text = _key_text(key)
        before = self._rows[entity_set].get(text)
        record = Record(dict(values), self.stamp())
        if before is None:  # as an UPDATE of no row: nothing changes
            return record
        self._rows[entity_set][text] = record
        self._reindex(entity_set, text, before.values if before else None, record.values)
        return Record(dict(values), record.changed_at)

    def delete(self, entity_set: str, key: tuple[str, ...]) -> None:
        """Remove a row."""
        text = _key_text(key)
        before = self._rows[entity_set].pop(text, None)
        if before is not None:
            self._reindex(entity_set, text, before.values, None)

    def get(self, entity_set: str, key: tuple[str, ...]) -> Record | None:
        """The row with `key`, or None."""
        found = self._rows[entity_set].get(_key_text(key))
        return None if found is None else Record(dict(found.values), found.changed_at)

    def all(self, entity_set: str) -> list[Record]:
        """Every row of a set, in creation order."""
        return [Record(dict(r.values), r.changed_at) for r in self._rows[entity_set].values()]

    def find(self, entity_set: str, **equal: str) -> list[Record]:
        """Rows of a set whose (string) properties equal the given values, in creation order."""
        if not equal:
            return self.all(entity_set)
        (first, wanted), *rest = equal.items()
        bucket = self._bucket(entity_set, first).get(wanted, {})
        rows = self._rows[entity_set]
        found = []
        for text in sorted(bucket, key=bucket.__getitem__):
            values = rows[text].values
            if all(values.get(name) == value for name, value in rest):
                found.append(Record(dict(values), rows[text].changed_at))
        return found

    def _bucket(self, entity_set: str, name: str) -> defaultdict[str, dict[str, int]]:
        index = self._by_value.get((entity_set, name))
        if index is None:
            index = defaultdict(dict)
            for text, record in self._rows[entity_set].items():
                value = record.values.get(name)
                if isinstance(value, str):
                    index[value][text] = self._seq[entity_set, text]
            self._by_value[entity_set, name] = index
        return index

    def _reindex(
        self,
        entity_set: str,
        text: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        for (indexed_set, name), index in self._by_value.items():
            if indexed_set != entity_set:
                continue
            old = before.get(name) if before else None
            new = after.get(name) if after else None
            if old == new:
                continue
            if isinstance(old, str):
                index[old].pop(text, None)
            if isinstance(new, str):
                index[new][text] = self._seq[entity_set, text]

    def flush(self, target: Store) -> int:
        """Write every row and number range into `target`, an empty sandbox store.

        Returns:
            The number of entity rows written.

        Raises:
            ValueError: when `target` already holds entities.
        """
        if target.execute("SELECT 1 FROM entity LIMIT 1"):
            raise ValueError("the ERP database already holds data; seed a fresh one")
        written = 0
        with target.transaction():
            for entity_set, rows in self._rows.items():
                for seq, (text, record) in enumerate(rows.items(), start=1):
                    data = json.dumps({k: to_storage(v) for k, v in record.values.items()})
                    target.execute(
                        "INSERT INTO entity (entity_set, entity_key, seq, data, changed_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (entity_set, text, seq, data, record.changed_at.isoformat()),
                    )
                    written += 1
            for name, last in self.execute("SELECT name, last FROM number_range"):
                target.execute(
                    "INSERT INTO number_range (name, last) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET last = max(last, excluded.last)",
                    (name, last),
                )
        return written


class DirectErp:
    """An ERP seeding target that runs the ERP's logic in-process (see the module docstring).

    sink = DirectErp()
    ...  # seeding calls create, deliver, billing_run, pay
    sink.flush(Store("var/erp.sqlite3"))
    """

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.now = datetime(2000, 1, 1, tzinfo=UTC)
        self._erp = Erp(self.store, user=USER, clock=lambda: self.now, delivery_delay=None)

    def at(self, moment: datetime) -> None:
        """Let what follows happen at `moment` (creation, billing and posting dates)."""
        self.now = moment

    def create(self, service: str, entity_set: str, payload: dict[str, Any]) -> str:
        """Create an entity from an OData JSON payload; its (first) key value."""
        entity = SERVICES[service].entity(entity_set)
        if entity is None:
            raise KeyError(f"{service} has no entity set {entity_set}")
        return self._erp.create(entity, payload).key[-1]

    def deliver(self, sales_order: str) -> None:
        """Post goods issue for a whole order."""
        self._erp.deliver(sales_order)

    def billing_run(self) -> list[str]:
        """Bill every delivered order; the billing documents, in order of the orders."""
        return self._erp.billing_run()

    def flush(self, target: Store) -> int:
        """Write what was seeded into `target` (an empty sandbox store); rows written."""
        return self.store.flush(target)
