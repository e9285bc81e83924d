"""Per-request context: the correlation id and the W3C trace context, carried across layers."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

CORRELATION_HEADER = "X-Correlation-ID"
TRACEPARENT_HEADER = "traceparent"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True, slots=True)
class TraceContext:
    """One W3C ``traceparent``: the trace we belong to and the span that is ours."""

    trace_id: str
    span_id: str
    flags: str = "01"

    @classmethod
    def parse_or_start(cls, header: str | None) -> TraceContext:
        """Continue the caller's trace with a fresh span id, or start a new trace."""
        match = _TRACEPARENT.match(header or "")
        if match is None or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
            return cls(trace_id=secrets.token_hex(16), span_id=secrets.token_hex(8))
        return cls(trace_id=match.group(1), span_id=secrets.token_hex(8), flags=match.group(3))

    @property
    def traceparent(self) -> str:
        """The header value that makes our span the parent of the next hop."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
trace_var: ContextVar[TraceContext | None] = ContextVar("trace", default=None)


def outbound_headers() -> dict[str, str]:
    """Headers that carry the current context to the next hop."""
    headers: dict[str, str] = {}
    if (cid := correlation_id_var.get()) is not None:
        headers[CORRELATION_HEADER] = cid
    if (trace := trace_var.get()) is not None:
        headers[TRACEPARENT_HEADER] = trace.traceparent
    return headers
