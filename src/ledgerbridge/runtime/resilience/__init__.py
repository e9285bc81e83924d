"""Resilience of backend calls: timeouts, retries, a circuit breaker and a bulkhead per
backend, and a reference-data cache with revalidation.

Build one `BackendPolicy` per backend from its `ResilienceSettings` in the composition root,
register it in `policies`, and make every backend call through `BackendPolicy.call`.
"""

from ledgerbridge.runtime.resilience._bulkhead import Bulkhead
from ledgerbridge.runtime.resilience._cache import (
    NOT_MODIFIED,
    CacheStats,
    Fetched,
    Loader,
    NotModified,
    ReferenceCache,
)
from ledgerbridge.runtime.resilience._circuit_breaker import (
    BreakerListener,
    BreakerSnapshot,
    BreakerState,
    CircuitBreaker,
    counts_as_failure,
)
from ledgerbridge.runtime.resilience._errors import BulkheadFull, CircuitOpen
from ledgerbridge.runtime.resilience._policy import BackendPolicy
from ledgerbridge.runtime.resilience._registry import PolicyRegistry, breaker_states, policies
from ledgerbridge.runtime.resilience._retry import RetryPolicy, is_retryable, set_testing

__all__ = [
    "NOT_MODIFIED",
    "BackendPolicy",
    "BreakerListener",
    "BreakerSnapshot",
    "BreakerState",
    "Bulkhead",
    "BulkheadFull",
    "CacheStats",
    "CircuitBreaker",
    "CircuitOpen",
    "Fetched",
    "Loader",
    "NotModified",
    "PolicyRegistry",
    "ReferenceCache",
    "RetryPolicy",
    "breaker_states",
    "counts_as_failure",
    "is_retryable",
    "policies",
    "set_testing",
]
