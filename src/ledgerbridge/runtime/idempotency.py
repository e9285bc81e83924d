"""Idempotency-Key for unsafe requests (IETF httpapi idempotency-key draft).

An API opts in after building its app::

    app = build_api(API, routers=[router])
    install_idempotency(app, engine=store.engine, policy=IdempotencyPolicy(required=True))

The policy, per client and key:

- no ``Idempotency-Key`` on a POST or PATCH where one is required: 400;
- the first request with a key runs; its status, headers and body are stored once it ends;
- the same key with another method, path or body: 422;
- the same key while the first request is still running: 409 with ``Retry-After``;
- the same key after completion: the stored response again, with ``Idempotent-Replayed: true``;
- a 5xx answer or a crash releases the key, so the retry runs again (our writes are
  transactional, so a failed request left nothing behind);
- keys expire after ``retention`` (24 hours by default) and may then be reused.

Concurrent first requests are settled by the table's primary key (insert-or-nothing), never by
checking first and inserting after, so one of them runs and the others get 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerbridge.runtime.problems import problem_response
from ledgerbridge.runtime.store.schema import metadata

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_MAX_KEY = 255
# Added by the house middleware around us on every response, replayed or not.
_NOT_STORED = frozenset({b"x-correlation-id", b"traceparent", b"date", b"server"})

idempotency_keys = sa.Table(
    "idempotency_key",
    metadata,
    sa.Column("client", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(_MAX_KEY), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("status_code", sa.Integer()),
    sa.Column("response_headers", sa.JSON()),
    sa.Column("response_body", sa.LargeBinary()),
    sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

_IN_FLIGHT = "in_flight"
_COMPLETED = "completed"


def client_by_credentials(scope: Scope) -> str:
    """The default client scope: a hash of the caller's Authorization header.

    Each credential is its own namespace of keys; requests without one share ``anonymous``.
    """
    for name, value in scope["headers"]:
        if name == b"authorization":
            return hashlib.sha256(value).hexdigest()
    return "anonymous"


@dataclass(frozen=True, slots=True)
class IdempotencyPolicy:
    """Which requests need a key, how keys are scoped and how long they are kept.

    Usage::

        IdempotencyPolicy(required=True, retention=timedelta(hours=24),
                          optional_paths=("/search",), client=lambda scope: tenant_of(scope))

    Args:
        required: Answer 400 to a POST or PATCH without a key (else such requests just run).
        methods: The methods the policy covers; others pass through untouched.
        retention: How long a completed key is remembered and replayed.
        in_flight_timeout: After this long an unfinished first request (its process died) no
            longer blocks its key; a retry takes the key over.
        optional_paths: Path prefixes where a key is honoured but not required.
        client: Maps a request to the client that owns its keys.
    """

    required: bool = True
    methods: frozenset[str] = frozenset({"POST", "PATCH"})
    retention: timedelta = timedelta(hours=24)
    in_flight_timeout: timedelta = timedelta(minutes=1)
    optional_paths: tuple[str, ...] = ()
    client: Callable[[Scope], str] = field(default=client_by_credentials)

    def requires_key(self, path: str) -> bool:
        """Whether a covered request to ``path`` without a key is refused."""
        return self.required and not any(path.startswith(p) for p in self.optional_paths)


@dataclass(frozen=True, slots=True)
class _Stored:
    fingerprint: str
    state: str
    status_code: int | None
    headers: list[list[str]] | None
    body: bytes | None


def install_idempotency(
    app: FastAPI, *, engine: AsyncEngine, policy: IdempotencyPolicy | None = None
) -> None:
    """Make ``app`` honour Idempotency-Key under ``policy``; call before the app serves.

    The middleware is placed inside the house middleware, so its answers carry the
    correlation id and are logged like any other.
    """
    if app.middleware_stack is not None:
        raise RuntimeError("install_idempotency must be called before the app serves a request")
    app.user_middleware.append(
        Middleware(IdempotencyMiddleware, engine=engine, policy=policy or IdempotencyPolicy())
    )


class IdempotencyMiddleware:
    """ASGI middleware applying an ``IdempotencyPolicy``; see the module docstring."""

    def __init__(self, app: ASGIApp, *, engine: AsyncEngine, policy: IdempotencyPolicy) -> None:
        self.app = app
        self.engine = engine
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self.policy.methods:
            await self.app(scope, receive, send)
            return
        raw = _header(scope, b"idempotency-key")
        if raw is None:
            if self.policy.requires_key(scope["path"]):
                await _problem(scope, receive, send, 400, f"this request needs an {HEADER} header")
                return
            await self.app(scope, receive, send)
            return
        key = _parse_key(raw)
        if key is None:
            detail = f"{HEADER} must be a quoted string of 1 to {_MAX_KEY} printable characters"
            await _problem(scope, receive, send, 400, detail)
            return
        body = await _read_body(receive)
        fingerprint = _fingerprint(scope, body)
        client = self.policy.client(scope)
        claimed, stored = await self._claim(client, key, fingerprint)
        if not claimed:
            assert stored is not None
            await self._answer_repeat(scope, receive, send, stored, fingerprint)
            return
        await self._run_first(scope, receive, send, body, client, key)

    async def _claim(self, client: str, key: str, fingerprint: str) -> tuple[bool, _Stored | None]:
        now = datetime.now(UTC)
        table = idempotency_keys
        this_key = (table.c.client == client) & (table.c.key == key)
        async with self.engine.begin() as conn:
            await conn.execute(table.delete().where(this_key & (table.c.expires_at < now)))
            values = {
                "client": client,
                "key": key,
                "fingerprint": fingerprint,
                "state": _IN_FLIGHT,
                "locked_at": now,
                "expires_at": now + self.policy.retention,
            }
            if await _insert_or_nothing(conn, values):
                return True, None
            # The first request's process may have died mid-flight: take its key over.
            taken = await conn.execute(
                table.update()
                .where(
                    this_key
                    & (table.c.state == _IN_FLIGHT)
                    & (table.c.fingerprint == fingerprint)
                    & (table.c.locked_at < now - self.policy.in_flight_timeout)
                )
                .values(locked_at=now)
            )
            if taken.rowcount == 1:
                return True, None
            row = (
                await conn.execute(
                    sa.select(
                        table.c.fingerprint,
                        table.c.state,
                        table.c.status_code,
                        table.c.response_headers,
                        table.c.response_body,
                    ).where(this_key)
                )
            ).first()
        if row is None:  # released between our insert and our read: the client may retry now
            return False, _Stored(fingerprint, _IN_FLIGHT, None, None, None)
        return False, _Stored(*row)

    async def _answer_repeat(
        self, scope: Scope, receive: Receive, send: Send, stored: _Stored, fingerprint: str
    ) -> None:
        if stored.fingerprint != fingerprint:
            detail = f"this {HEADER} was used with a different request; use a new key"
            await _problem(scope, receive, send, 422, detail)
        elif stored.state != _COMPLETED:
            detail = f"a request with this {HEADER} is still being processed; retry later"
            await _problem(scope, receive, send, 409, detail, headers={"Retry-After": "1"})
        else:
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers or []]
            headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
            await send(
                {"type": "http.response.start", "status": stored.status_code, "headers": headers}
            )
            await send({"type": "http.response.body", "body": stored.body or b""})

    async def _run_first(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, client: str, key: str
    ) -> None:
        status = 500
        headers: list[list[str]] = []
        chunks: list[bytes] = []
        body_given = False

        async def replay_body() -> Message:
            # The body was read already: hand it over once, then pass on what the server
            # sends next (a disconnect), as a streaming response waits for one.
            nonlocal body_given
            if body_given:
                return await receive()
            body_given = True
            return {"type": "http.request", "body": body, "more_body": False}

        last: Message | None = None

        async def capture(message: Message) -> None:
            nonlocal status, last
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.extend(
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                    if k.lower() not in _NOT_STORED
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Held until the key is settled: a caller who retries the moment the
                    # answer ends must find it completed (replayed), never still in flight.
                    last = message
                    return
            await send(message)

        completed = False
        try:
            await self.app(scope, replay_body, capture)
            completed = status < 500
        finally:
            await self._settle(client, key, completed, status, headers, b"".join(chunks))
        if last is not None:
            await send(last)

    async def _settle(
        self,
        client: str,
        key: str,
        completed: bool,
        status: int,
        headers: list[list[str]],
        body: bytes,
    ) -> None:
        table = idempotency_keys
        this_key = (table.c.client == client) & (table.c.key == key)
        async with self.engine.begin() as conn:
            if completed:
                await conn.execute(
                    table.update()
                    .where(this_key)
                    .values(
                        state=_COMPLETED,
                        status_code=status,
                        response_headers=headers,
                        response_body=body,
                    )
                )
            else:
                await conn.execute(table.delete().where(this_key & (table.c.state == _IN_FLIGHT)))


async def purge_expired_keys(conn: AsyncConnection) -> int:
    """Delete keys past their retention; returns how many went."""
    now = datetime.now(UTC)
    result = await conn.execute(
        idempotency_keys.delete().where(idempotency_keys.c.expires_at < now)
    )
    return result.rowcount


async def _insert_or_nothing(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(idempotency_keys).values(**values).on_conflict_do_nothing()
    return (await conn.execute(statement)).rowcount == 1


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _parse_key(raw: str) -> str | None:
    # The draft makes the value a structured-field string ("..."); bare tokens are common in
    # the wild and unambiguous, so both are accepted.
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 0 < len(value) <= _MAX_KEY or not value.isprintable() or '"' in value:
        return None
    if not value.isascii():
        return None
    return value


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"], body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def _problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    response = problem_response(
        status, detail=detail, kind="idempotency-key", instance=scope["path"], headers=headers
    )
    await response(scope, receive, send)
