"""SQLite persistence: one JSON row per entity, number ranges, nested transactions."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerbridge.sandboxes.erp.values import from_storage, to_storage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entity (
    entity_set TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (entity_set, entity_key)
);
CREATE TABLE IF NOT EXISTS number_range (
    name TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
"""


_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Each index costs every write; past this many, lookups on further properties go unindexed.
MAX_PROPERTY_INDEXES = 64


@dataclass
class Record:
    """A stored entity: its typed values and when it last changed (the ETag source)."""

    values: dict[str, Any]
    changed_at: datetime


def _key_text(key: tuple[str, ...]) -> str:
    return json.dumps(list(key))


class Store:
    """Entity rows in SQLite (a file or `:memory:`), read and written as typed values."""

    def __init__(self, database: str) -> None:
        self._conn = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        # WAL without a sync per commit: a stand-in's data survives a crash of the process,
        # not of the machine, and every request stops waiting on the disk.
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._depth = 0
        self._last_stamp = datetime.min.replace(tzinfo=UTC)
        self._indexed = {
            str(row[0])
            for row in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'entity_by_%'"
            )
        }

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL for the sandbox's own bookkeeping tables (events, subscriptions)."""
        return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nests via savepoints."""
        name = f"sp{self._depth}"
        self._conn.execute("BEGIN" if self._depth == 0 else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            self._conn.execute("ROLLBACK" if self._depth == 0 else f"ROLLBACK TO {name}")
            if self._depth:
                self._conn.execute(f"RELEASE {name}")
            raise
        self._depth -= 1
        self._conn.execute("COMMIT" if self._depth == 0 else f"RELEASE {name}")

    def stamp(self) -> datetime:
        """A strictly increasing UTC time, so that every write yields a new ETag.

        Whole milliseconds, because that is all /Date(ms)/ carries: a client doing delta
        reads with `LastChangeDateTime gt <last seen>` must see exactly what was stored.
        """
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return now

    def next_number(self, name: str, first: int) -> int:
        """Draw the next number of range `name`, which starts at `first`."""
        row = self._conn.execute("SELECT last FROM number_range WHERE name = ?", (name,)).fetchone()
        number = first if row is None else int(row[0]) + 1
        self._conn.execute(
            "INSERT INTO number_range (name, last) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET last = excluded.last",
            (name, number),
        )
        return number

    def insert(self, entity_set: str, key: tuple[str, ...], values: dict[str, Any]) -> Record:
        """Insert a new row; the caller has checked the key is free."""
        changed_at = self.stamp()
        seq = self._conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM entity WHERE entity_set = ?", (entity_set,)
        ).fetchone()[0]
        self._conn.execute(
            "INSERT INTO entity (entity_set, entity_key, seq, data, changed_at) VALUES (?,?,?,?,?)",
            (entity_set, _key_text(key), seq, self._dump(values), changed_at.isoformat()),
        )
        return Record(dict(values), changed_at)

    def update(self, entity_set: str, key: tuple[str, ...], values: dict[str, Any]) -> Record:
        """Replace the values of an existing row and move its change time."""
        changed_at = self.stamp()
        self._conn.execute(
            "UPDATE entity SET data = ?, changed_at = ? WHERE entity_set = ? AND entity_key = ?",
            (self._dump(values), changed_at.isoformat(), entity_set, _key_text(key)),
        )
        return Record(dict(values), changed_at)

    def delete(self, entity_set: str, key: tuple[str, ...]) -> None:
        """Remove a row."""
        self._conn.execute(
            "DELETE FROM entity WHERE entity_set = ? AND entity_key = ?",
            (entity_set, _key_text(key)),
        )

    def get(self, entity_set: str, key: tuple[str, ...]) -> Record | None:
        """The row with `key`, or None."""
        row = self._conn.execute(
            "SELECT data, changed_at FROM entity WHERE entity_set = ? AND entity_key = ?",
            (entity_set, _key_text(key)),
        ).fetchone()
        return None if row is None else self._load(row)

    def all(self, entity_set: str) -> list[Record]:
        """Every row of a set, in creation order."""
        rows = self._conn.execute(
            "SELECT data, changed_at FROM entity WHERE entity_set = ? ORDER BY seq", (entity_set,)
        ).fetchall()
        return [self._load(r) for r in rows]

    def find(self, entity_set: str, **equal: str) -> list[Record]:
        """Rows of a set whose (string) properties equal the given values, in creation order."""
        where, params = self._equalities(entity_set, equal)
        rows = self._conn.execute(
            f"SELECT data, changed_at FROM entity WHERE {where} ORDER BY seq",  # noqa: S608
            params,
        ).fetchall()
        return [self._load(r) for r in rows]

    def find_page(
        self, entity_set: str, equal: dict[str, str], offset: int, limit: int | None
    ) -> list[Record]:
        """Like `find`, from the `offset`-th match, at most `limit` rows (None: all)."""
        where, params = self._equalities(entity_set, equal)
        rows = self._conn.execute(
            f"SELECT data, changed_at FROM entity WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",  # noqa: S608
            [*params, -1 if limit is None else limit, offset],
        ).fetchall()
        return [self._load(r) for r in rows]

    def count(self, entity_set: str, equal: dict[str, str]) -> int:
        """How many rows `find` would return."""
        where, params = self._equalities(entity_set, equal)
        sql = f"SELECT count(*) FROM entity WHERE {where}"  # noqa: S608 - see _equalities
        row = self._conn.execute(sql, params).fetchone()
        return int(row[0])

    def _equalities(self, entity_set: str, equal: dict[str, str]) -> tuple[str, list[str]]:
        """The WHERE clause and parameters of property equalities, indexing each property.

        Property names are checked identifiers, written into the SQL so that SQLite can use
        the expression index on them; values are always bound parameters.
        """
        where = "entity_set = ?"
        params = [entity_set]
        for name, value in equal.items():
            if not _PROPERTY.match(name):
                raise ValueError(f"not a property name: {name!r}")
            self._index(name)
            where += f" AND json_extract(data, '$.{name}') = ?"
            params.append(value)
        return where, params

    def _index(self, name: str) -> None:
        # Not inside a transaction: a rollback would drop the index behind our back.
        index = f"entity_by_{name}"
        if index in self._indexed or self._depth or len(self._indexed) >= MAX_PROPERTY_INDEXES:
            return
        self._conn.execute(
            f"CREATE INDEX IF NOT EXISTS {index} "
            f"ON entity (entity_set, json_extract(data, '$.{name}'), seq)"
        )
        self._indexed.add(index)

    @staticmethod
    def _dump(values: dict[str, Any]) -> str:
        return json.dumps({k: to_storage(v) for k, v in values.items()})

    @staticmethod
    def _load(row: tuple[str, str]) -> Record:
        data = json.loads(row[0])
        return Record({k: from_storage(v) for k, v in data.items()}, datetime.fromisoformat(row[1]))
