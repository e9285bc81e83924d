"""Observability of the house: Prometheus metrics, OpenTelemetry traces and API analytics."""

from ledgerbridge.runtime.observability._metrics import (
    METRICS_MEDIA_TYPE,
    REGISTRY,
    observe_outbox_round,
    observe_request,
    record_dead_letter_action,
    record_saga_step,
    render_metrics,
)
from ledgerbridge.runtime.observability._middleware import (
    ANONYMOUS,
    CONSUMER_HEADER,
    Clock,
    Insight,
    InsightMiddleware,
    consumer_of,
    current_api_var,
    route_path,
)
from ledgerbridge.runtime.observability._tracing import (
    configure_tracing,
    instrument_layer_client,
    tracer,
    tracing_enabled,
)
from ledgerbridge.runtime.observability._usage import (
    LATENCY_BOUNDS_MS,
    CallerSummary,
    UsageDay,
    UsageLedger,
    callers_of,
    flush_usage,
    usage_days,
    usage_flusher,
    usage_table,
)

__all__ = [
    "ANONYMOUS",
    "CONSUMER_HEADER",
    "LATENCY_BOUNDS_MS",
    "METRICS_MEDIA_TYPE",
    "REGISTRY",
    "CallerSummary",
    "Clock",
    "Insight",
    "InsightMiddleware",
    "UsageDay",
    "UsageLedger",
    "callers_of",
    "configure_tracing",
    "consumer_of",
    "current_api_var",
    "flush_usage",
    "instrument_layer_client",
    "observe_outbox_round",
    "observe_request",
    "record_dead_letter_action",
    "record_saga_step",
    "render_metrics",
    "route_path",
    "tracer",
    "tracing_enabled",
    "usage_days",
    "usage_flusher",
    "usage_table",
]
