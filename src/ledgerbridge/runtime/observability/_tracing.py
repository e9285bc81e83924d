"""OpenTelemetry traces: one tracer provider per process, W3C trace context on every hop.

Off until ``configure_tracing`` runs: until then the API hands out non-recording spans and
the house only carries ``traceparent`` along. Once on, each API request is a server span
(see ``_middleware``), each call of a layer client or a connector a client span, and the
spans leave over OTLP when an endpoint is configured.

The server span takes the span id the house already minted for the request (see
``runtime.context``), so the ``traceparent`` echoed to the caller names a real span.
"""

from __future__ import annotations

from contextvars import ContextVar

import httpx
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from ledgerbridge.runtime.context import TraceContext

__all__ = ["configure_tracing", "instrument_layer_client", "tracer", "tracing_enabled"]

INSTRUMENTATION = "ledgerbridge"
# The ids the next span started in this context must take (the server span of a request).
adopted_ids: ContextVar[TraceContext | None] = ContextVar("adopted_ids", default=None)
_provider: TracerProvider | None = None


class _AdoptingIdGenerator(RandomIdGenerator):
    """Random ids, except for a span started while ``adopted_ids`` is set."""

    def generate_span_id(self) -> int:
        adopted = adopted_ids.get()
        return int(adopted.span_id, 16) if adopted else super().generate_span_id()

    def generate_trace_id(self) -> int:
        adopted = adopted_ids.get()
        return int(adopted.trace_id, 16) if adopted else super().generate_trace_id()


def configure_tracing(
    *,
    service_name: str = INSTRUMENTATION,
    otlp_endpoint: str | None = None,
    sample_ratio: float = 1.0,
    processors: tuple[SpanProcessor, ...] = (),
) -> TracerProvider:
    """Turn tracing on for this process, and instrument every ``httpx`` transport.

    OpenTelemetry allows one provider per process, so a second call adds its exporters and
    processors to the provider the first call set.

    Args:
        service_name: The ``service.name`` resource of every span.
        otlp_endpoint: Base URL of an OTLP/HTTP collector (``/v1/traces`` is appended).
        sample_ratio: Share of new traces recorded; a continued trace follows its caller's
            decision. Set on the first call only.
        processors: Further span processors, e.g. a ``SimpleSpanProcessor`` over an
            in-memory exporter in tests.

    Returns:
        The process's tracer provider.
    """
    global _provider
    if _provider is None:
        _provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: service_name}),
            id_generator=_AdoptingIdGenerator(),
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )
        trace.set_tracer_provider(_provider)
        # Connectors and remote layer clients use httpx's default transport: patch it once.
        HTTPXClientInstrumentor().instrument(tracer_provider=_provider)
    if otlp_endpoint:
        exporter: SpanExporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
        _provider.add_span_processor(BatchSpanProcessor(exporter))
    for processor in processors:
        _provider.add_span_processor(processor)
    return _provider


def tracing_enabled() -> bool:
    """Whether ``configure_tracing`` has run in this process."""
    return _provider is not None


def tracer() -> trace.Tracer:
    """The tracer the house's own spans come from."""
    return trace.get_tracer(INSTRUMENTATION)


def instrument_layer_client(client: httpx.AsyncClient) -> None:
    """Trace the calls of an in-process layer client (its ASGI transport is not patched)."""
    if _provider is not None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_provider)
