"""The insight middleware: each request becomes a server span, metrics and an analytics tally.

It sits inside the request-context middleware (which sets the correlation id and the trace
context) and reads the house's ``Insight`` from the app's state at request time, because the
house that mounts an API is built after the API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerbridge.runtime.context import trace_var
from ledgerbridge.runtime.observability._metrics import observe_request
from ledgerbridge.runtime.observability._tracing import adopted_ids, tracer, tracing_enabled
from ledgerbridge.runtime.observability._usage import UsageLedger
from ledgerbridge.runtime.store import Store

__all__ = [
    "ANONYMOUS",
    "CONSUMER_HEADER",
    "Clock",
    "Insight",
    "InsightMiddleware",
    "consumer_of",
    "current_api_var",
    "route_path",
]

CONSUMER_HEADER = "X-Consumer-ID"
ANONYMOUS = "anonymous"
_CONSUMER = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CONSUMER_KEY = CONSUMER_HEADER.lower().encode("latin-1")
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
# Endpoints of the house itself, not of the API: kept out of metrics, traces and analytics.
_PLUMBING = frozenset({"/healthz", "/readyz", "/metrics", "/lifecycle"})

# The API serving the current request; layer clients send it on as the consumer of the next.
current_api_var: ContextVar[str | None] = ContextVar("current_api", default=None)


class Clock:
    """The time the house judges by: the system clock unless a test sets one."""

    def __init__(self, fixed: datetime | None = None) -> None:
        self.fixed = fixed

    def now(self) -> datetime:
        """The current time, UTC."""
        return self.fixed if self.fixed is not None else datetime.now(UTC)


@dataclass(slots=True)
class Insight:
    """What a house observes of its APIs, shared by every API it mounts.

    ``usage`` is None when analytics are off; ``store`` is where they are kept and read.
    """

    metrics: bool = True
    usage: UsageLedger | None = None
    store: Store | None = None
    clock: Clock = field(default_factory=Clock)


_DEFAULT = Insight()


def route_path(scope: Scope) -> str:
    """The request path below the API's mount point (Starlette keeps the full one in ``path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _authenticated_client(scope: Scope) -> str | None:
    """The client id of the access token the guard accepted, when authentication is on.

    A verified client id beats the self-declared ``X-Consumer-ID``.
    """
    token = scope.get("state", {}).get("access_token")
    client_id = getattr(token, "client_id", None)
    return client_id if isinstance(client_id, str) and _CONSUMER.match(client_id) else None


def consumer_of(raw: bytes | None) -> str:
    """The consumer a request names in ``X-Consumer-ID``; ``anonymous`` when absent or unfit.

    When the request carries an access token the guard accepted, its client id is the
    consumer instead (see ``InsightMiddleware``).

    Only short identifiers are kept (letters, digits, ``.``, ``_``, ``:``, ``-``, 64 at most),
    so a caller cannot blow up the metrics' label space with free text.
    """
    if not raw:
        return ANONYMOUS
    value = raw.decode("latin-1")
    return value if _CONSUMER.match(value) else "invalid"


class InsightMiddleware:
    """Span, metrics and usage of every request an API answers."""

    def __init__(self, app: ASGIApp, *, api: str, layer: str, version: int) -> None:
        self.app = app
        self.api = api
        self.layer = layer
        self.version = version
        self.version_label = f"v{version}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) in _PLUMBING:
            await self.app(scope, receive, send)
            return
        insight: Insight = getattr(scope["app"].state, "insight", _DEFAULT)
        consumer = consumer_of(next((v for k, v in scope["headers"] if k == _CONSUMER_KEY), None))
        api_token = current_api_var.set(self.api)
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if tracing_enabled():
                await self._traced(scope, receive, send_status, consumer, lambda: status)
            else:
                await self.app(scope, receive, send_status)
        finally:
            current_api_var.reset(api_token)
            seconds = time.perf_counter() - started
            consumer = _authenticated_client(scope) or consumer
            if insight.metrics:
                observe_request(
                    api=self.api,
                    version=self.version_label,
                    consumer=consumer,
                    method=scope["method"],
                    status=status,
                    seconds=seconds,
                )
            if insight.usage is not None:
                insight.usage.record(
                    api=self.api,
                    version=self.version,
                    consumer=consumer,
                    status=status,
                    seconds=seconds,
                )

    async def _traced(
        self, scope: Scope, receive: Receive, send: Send, consumer: str, status: Callable[[], int]
    ) -> None:
        carrier = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in _TRACE_HEADERS
        }
        parent = extract(carrier)
        ids = adopted_ids.set(trace_var.get())
        try:
            span = tracer().start_span(
                f"{scope['method']} {self.api} v{self.version}",
                context=parent,
                kind=SpanKind.SERVER,
                attributes={
                    "ledgerbridge.layer": self.layer,
                    "ledgerbridge.api": self.api,
                    "ledgerbridge.api_version": self.version,
                    "ledgerbridge.consumer": consumer,
                    "http.request.method": scope["method"],
                    "url.path": scope["path"],
                },
            )
        finally:
            adopted_ids.reset(ids)
        with trace.use_span(span, end_on_exit=True, record_exception=True):
            await self.app(scope, receive, send)
            code = status()
            span.set_attribute("http.response.status_code", code)
            if (client := _authenticated_client(scope)) is not None:
                span.set_attribute("ledgerbridge.consumer", client)
            if (route := scope.get("route")) is not None and hasattr(route, "path"):
                span.update_name(f"{scope['method']} {route.path}")
                span.set_attribute("http.route", route.path)
            if code >= 500:
                span.set_status(Status(StatusCode.ERROR))
