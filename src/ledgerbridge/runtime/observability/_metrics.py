"""Prometheus metrics of the house: one registry per process, served on every API's /metrics.

Labels stay few and bounded: the API, its major version, the consumer (a short identifier
from ``X-Consumer-ID``, see ``consumer_of``) and, on counters, the status code.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as METRICS_MEDIA_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ledgerbridge.runtime.resilience import BreakerState, breaker_states

__all__ = [
    "METRICS_MEDIA_TYPE",
    "REGISTRY",
    "observe_outbox_round",
    "observe_request",
    "record_dead_letter_action",
    "record_saga_step",
    "render_metrics",
]

REGISTRY = CollectorRegistry(auto_describe=True)

_REQUESTS = Counter(
    "ledgerbridge_http_requests",
    "Requests answered, by API, major version, consumer, method and status.",
    ("api", "version", "consumer", "method", "status"),
    registry=REGISTRY,
)
_ERRORS = Counter(
    "ledgerbridge_http_errors",
    "Requests answered with a 4xx or 5xx status, by API, version, consumer and status.",
    ("api", "version", "consumer", "status"),
    registry=REGISTRY,
)
_LATENCY = Histogram(
    "ledgerbridge_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response.",
    ("api", "version", "consumer"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
_SAGA_STEPS = Counter(
    "ledgerbridge_saga_steps",
    "Saga steps run by the Process layer, by process, step and outcome.",
    ("process", "step", "outcome"),
    registry=REGISTRY,
)
_OUTBOX_PUBLISHED = Counter(
    "ledgerbridge_outbox_published",
    "Outbox rows the relay has published to the bus.",
    registry=REGISTRY,
)
_OUTBOX_LAG = Gauge(
    "ledgerbridge_outbox_lag_seconds",
    "Age of the oldest row in the relay's last round; 0 when it found the outbox drained.",
    registry=REGISTRY,
)
_DEAD_LETTERS = Counter(
    "ledgerbridge_dead_letters",
    "Actions on dead letters (recorded, reopened, replayed, replay_failed, discarded).",
    ("action",),
    registry=REGISTRY,
)


class _BreakerCollector(Collector):
    """Each registered backend's breaker, read at scrape time: 1 on its current state."""

    def collect(self) -> list[Metric]:
        family = GaugeMetricFamily(
            "ledgerbridge_breaker_state",
            "Circuit breaker state per backend: 1 on the current state, 0 on the others.",
            labels=("backend", "state"),
        )
        for backend, snapshot in breaker_states().items():
            for state in BreakerState:
                family.add_metric((backend, state.value), float(snapshot.state is state))
        return [family]


REGISTRY.register(_BreakerCollector())

# Labelled children, looked up once per label set: ``labels()`` validates and locks each time.
_children: dict[tuple[str, ...], tuple[Counter, Histogram, Counter | None]] = {}


def observe_request(
    *, api: str, version: str, consumer: str, method: str, status: int, seconds: float
) -> None:
    """Count one answered request and its latency."""
    key = (api, version, consumer, method, str(status))
    children = _children.get(key)
    if children is None:
        code = key[-1]
        children = _children[key] = (
            _REQUESTS.labels(api, version, consumer, method, code),
            _LATENCY.labels(api, version, consumer),
            _ERRORS.labels(api, version, consumer, code) if status >= 400 else None,
        )
    requests, latency, errors = children
    requests.inc()
    latency.observe(seconds)
    if errors is not None:
        errors.inc()


def record_saga_step(process: str, step: str, outcome: str) -> None:
    """Count one saga step; Process APIs call this as each step ends.

    Args:
        process: The Process API running the saga, e.g. ``order-to-cash``.
        step: The step's name, e.g. ``create-sales-order``.
        outcome: How it ended: ``ok``, ``failed``, ``compensated``...
    """
    _SAGA_STEPS.labels(process, step, outcome).inc()


def observe_outbox_round(published: int, lag_seconds: float) -> None:
    """Count what one relay round published and the age of the oldest row it found."""
    _OUTBOX_PUBLISHED.inc(published)
    _OUTBOX_LAG.set(lag_seconds)


def record_dead_letter_action(action: str) -> None:
    """Count one action on a dead letter: ``recorded``, ``replayed``, ``discarded``..."""
    _DEAD_LETTERS.labels(action).inc()


def render_metrics() -> bytes:
    """The registry in the Prometheus text exposition format."""
    return generate_latest(REGISTRY)
