"""SQLite persistence for the CRM sandbox: records as JSON documents, counters, sessions, usage.

Records keep their money as exact decimal text inside the JSON (see `wire`), so nothing is ever
stored as a float. One connection serves the app; a lock keeps threads from interleaving.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from ledgerbridge.sandboxes.crm import wire
from ledgerbridge.sandboxes.crm.pushdown import Column, Pushdown, fold

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    sobject TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_by_sobject ON records (sobject, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, issued_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage (day TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS change_events (
    replay_id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    committed_at INTEGER NOT NULL,
    event TEXT NOT NULL
);
"""

Clock = Callable[[], datetime]

# Each index costs every write of a record; past this many, queries of new shapes go unindexed.
MAX_QUERY_INDEXES = 32
# A field name as it may stand inside a JSON path literal of the SQL.
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WriteObserver(Protocol):
    """Told of every record write inside the writing transaction (change data capture)."""

    def written(
        self, sobject: str, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        """A record of `sobject` went from `before` to `after` (None: absent, or deleted)."""


class Store:
    """The sandbox's database: one SQLite file, or memory for tests."""

    def __init__(self, database: str, clock: Clock = _utcnow) -> None:
        self.clock = clock
        self.observer: WriteObserver | None = None
        self.transaction_key = ""
        self._db = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        # Indexes on text keys call this, so every connection to the file must have it.
        self._db.create_function("soql_fold", 1, fold, deterministic=True)
        # WAL without a sync per commit: a stand-in's data survives a crash of the process,
        # not of the machine, and every request stops waiting on the disk.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        if "deleted" not in columns:  # a database written before the recycle bin existed
            self._db.execute("ALTER TABLE records ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0")
        self._lock = threading.RLock()
        self._depth = 0
        self._indexes = self._query_indexes()
        self._sessions = {str(row[0]) for row in self._db.execute("SELECT token FROM sessions")}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block atomically; nested blocks become savepoints."""
        with self._lock:
            name = f"sp{self._depth}"
            if self._depth == 0:
                self.transaction_key = uuid.uuid4().hex
            self._db.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                else:
                    self._db.execute(f"ROLLBACK TO {name}")
                    self._db.execute(f"RELEASE {name}")
                self._indexes = self._query_indexes()  # a rollback drops those it made
                raise
            self._depth -= 1
            self._db.execute("COMMIT" if self._depth == 0 else f"RELEASE {name}")

    def _query_indexes(self) -> set[str]:
        return {
            str(row[0])
            for row in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'records_q_%'"
            )
        }

    def next_value(self, counter: str, start: int = 1) -> int:
        """The next number of `counter`, beginning at `start`."""
        with self._lock:
            row = self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                (counter, start),
            ).fetchone()
            return int(row[0])

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on the sandbox's connection, inside any open transaction."""
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def insert(self, sobject: str, record_id: str, data: dict[str, Any]) -> None:
        """Store a new record."""
        with self._lock:
            seq = self.next_value("record-seq")
            self._db.execute(
                "INSERT INTO records (id, sobject, seq, data) VALUES (?, ?, ?, ?)",
                (record_id, sobject, seq, wire.dumps(data)),
            )
            if self.observer:
                self.observer.written(sobject, None, data)

    def replace(self, record_id: str, data: dict[str, Any]) -> None:
        """Overwrite a stored record's fields."""
        with self._lock:
            before = self.get(record_id)
            self._db.execute(
                "UPDATE records SET data = ? WHERE id = ?", (wire.dumps(data), record_id)
            )
            if self.observer and before:
                self.observer.written(before[0], before[1], data)

    def delete(self, record_id: str, data: dict[str, Any]) -> None:
        """Move a record to the recycle bin: gone from reads, still seen by queryAll."""
        with self._lock:
            before = self.get(record_id)
            self._db.execute(
                "UPDATE records SET deleted = 1, data = ? WHERE id = ?",
                (wire.dumps({**data, "IsDeleted": True}), record_id),
            )
            if self.observer and before:
                self.observer.written(before[0], before[1], None)

    def get(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        """The (sObject name, fields) of a live record, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT sobject, data FROM records WHERE id = ? AND deleted = 0", (record_id,)
            ).fetchone()
        return None if row is None else (row[0], wire.loads(row[1]))

    def all_of(
        self,
        sobject: str,
        *,
        include_deleted: bool = False,
        equals: dict[str, str] | None = None,
        ignore_case: bool = False,
    ) -> list[dict[str, Any]]:
        """Every live record of `sobject` (and deleted ones if asked), oldest first.

        `equals` narrows the rows in SQL to those whose top-level fields hold exactly these
        values (ids and references), so lookups by id do not decode every record;
        `ignore_case` compares those values as external ids are compared, without case.
        Each such field is indexed the first time it is looked up, so an upsert by external
        id finds its record without reading the table.
        """
        sql = "SELECT data FROM records WHERE sobject = ? AND deleted <= ?"
        parameters: list[Any] = [sobject, int(include_deleted)]
        keys: list[str] = []
        for name, value in (equals or {}).items():
            if name == "Id":
                sql += " AND id = ?"
            else:
                if not _FIELD_NAME.match(name):
                    raise ValueError(f"not a field name: {name!r}")
                # The path is literal, not a parameter, so that the lookup can use the index.
                key = f"json_extract(data, '$.{name}')" + (" COLLATE NOCASE" if ignore_case else "")
                sql += f" AND {key} = ?"
                keys.append(key)
            parameters.append(value)
        with self._lock:
            if keys:
                self._index("sobject", *keys, "seq")
            rows = self._db.execute(sql + " ORDER BY seq", parameters).fetchall()
        return [wire.loads(row[0]) for row in rows]

    def search(
        self,
        sobject: str,
        pushdown: Pushdown,
        *,
        include_deleted: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Records of `sobject` meeting the pushdown's matches, oldest first unless ordered.

        When the pushdown is exact its order applies, then `offset` and `limit`; otherwise
        the caller still tests, sorts and pages the rows itself.
        """
        sql = "SELECT data FROM records WHERE sobject = ? AND deleted <= ?"
        parameters: list[Any] = [sobject, int(include_deleted)]
        for match in pushdown.matches:
            expression = match.column.sql()
            present = [v for v in match.values if v is not None]
            tests = [f"{expression} IN ({', '.join('?' * len(present))})"] if present else []
            if len(present) < len(match.values):
                tests.append(f"{expression} IS NULL")
            sql += " AND (" + " OR ".join(tests) + ")"
            parameters += present
        keys = []
        if pushdown.exact:
            for sort in pushdown.order:
                key = sort.column.sql() + (" DESC" if sort.descending else "")
                # SQLite puts nulls first ascending and last descending, as SOQL does by default.
                if sort.nulls_last != sort.descending:
                    key += " NULLS LAST" if sort.nulls_last else " NULLS FIRST"
                keys.append(key)
        sql += " ORDER BY " + ", ".join([*keys, "seq"])
        if pushdown.exact and (limit is not None or offset):
            sql += " LIMIT ? OFFSET ?"
            parameters += [-1 if limit is None else limit, offset]
        with self._lock:
            self._ensure_index(pushdown)
            rows = self._db.execute(sql, parameters).fetchall()
        return [wire.loads(row[0]) for row in rows]

    def _ensure_index(self, pushdown: Pushdown) -> None:
        """Index the query's shape (equalities, then sort keys) the first time it is seen."""
        equal = [
            m.column for m in pushdown.matches if len(m.values) == 1 and m.values[0] is not None
        ]
        ordered = all(len(m.values) == 1 for m in pushdown.matches) and pushdown.exact
        columns: list[Column] = [*equal, *(s.column for s in pushdown.order if ordered)]
        columns = [c for c in dict.fromkeys(columns) if c.field != "Id"]
        if columns and not self._depth:
            self._index("sobject", *(c.sql() for c in columns), "seq")

    def _index(self, *expressions: str) -> None:
        """An index on these expressions of a record, unless there is one or enough."""
        joined = ", ".join(expressions)
        name = "records_q_" + hashlib.sha256(joined.encode()).hexdigest()[:16]
        if name in self._indexes or len(self._indexes) >= MAX_QUERY_INDEXES:
            return
        self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON records ({joined})")
        self._indexes.add(name)

    def add_session(self, token: str, issued_at: int) -> None:
        """Remember an access token."""
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions (token, issued_at) VALUES (?, ?)", (token, issued_at)
            )
            self._sessions.add(token)

    def has_session(self, token: str) -> bool:
        """Whether `token` was issued and not revoked.

        Every data call asks, so known tokens are answered from memory; the table is read
        only for a token issued by another process on the same file.
        """
        if token in self._sessions:
            return True
        with self._lock:
            row = self._db.execute("SELECT 1 FROM sessions WHERE token = ?", (token,)).fetchone()
            if row is not None:
                self._sessions.add(token)
        return row is not None

    def revoke_sessions(self) -> None:
        """Forget every access token, as an expired session would."""
        with self._lock:
            self._db.execute("DELETE FROM sessions")
            self._sessions.clear()

    def requests_today(self) -> int:
        """API requests counted so far on the current UTC day."""
        day = self.clock().date().isoformat()
        with self._lock:
            row = self._db.execute("SELECT count FROM usage WHERE day = ?", (day,)).fetchone()
        return 0 if row is None else int(row[0])

    def count_request(self) -> int:
        """Count one API request on the current UTC day; the day's total so far."""
        day = self.clock().date().isoformat()
        with self._lock:
            row = self._db.execute(
                "INSERT INTO usage (day, count) VALUES (?, 1) "
                "ON CONFLICT (day) DO UPDATE SET count = count + 1 RETURNING count",
                (day,),
            ).fetchone()
            return int(row[0])
