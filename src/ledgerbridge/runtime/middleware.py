"""ASGI middleware shared by every API: correlation id, trace context and an access log line."""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerbridge.runtime.context import (
    CORRELATION_HEADER,
    TRACEPARENT_HEADER,
    TraceContext,
    correlation_id_var,
    trace_var,
)
from ledgerbridge.runtime.problems import problem_response

log = structlog.get_logger("ledgerbridge.access")
_MAX_CORRELATION_ID = 128


class RequestContextMiddleware:
    """Adopt or mint the correlation id and traceparent, echo them, and log the request."""

    def __init__(self, app: ASGIApp, *, api_name: str) -> None:
        self.app = app
        self.api_name = api_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get(CORRELATION_HEADER.lower(), "")
        cid = given if 0 < len(given) <= _MAX_CORRELATION_ID else str(uuid.uuid4())
        trace = TraceContext.parse_or_start(headers.get(TRACEPARENT_HEADER))
        cid_token, trace_token = correlation_id_var.set(cid), trace_var.set(trace)
        started = time.perf_counter()
        status = 500
        status_sent = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status, status_sent = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.encode(), cid.encode()),
                    (TRACEPARENT_HEADER.encode(), trace.traceparent.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except Exception:
            # Answer here rather than in the outermost error middleware, so that even a crash
            # carries the correlation id; the trace goes to the log only, never to the caller.
            log.exception("unhandled error", api=self.api_name, path=scope["path"])
            if status_sent:
                raise
            response = problem_response(500, detail="an unexpected error occurred")
            await response(scope, receive, send_with_context)
        finally:
            log.info(
                "request",
                api=self.api_name,
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            correlation_id_var.reset(cid_token)
            trace_var.reset(trace_token)
