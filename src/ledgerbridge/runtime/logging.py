"""Structured JSON logs (structlog), with the correlation and trace ids on every line."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from ledgerbridge.runtime.context import correlation_id_var, trace_var


def _add_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if (cid := correlation_id_var.get()) is not None:
        event.setdefault("correlation_id", cid)
    if (trace := trace_var.get()) is not None:
        event.setdefault("trace_id", trace.trace_id)
    return event


def configure_logging(*, level: str = "INFO", json: bool = True) -> None:
    """Send every log line to stderr as one JSON object (or console text when ``json`` is off)."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
