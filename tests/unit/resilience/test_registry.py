"""The policy registry: breaker states by backend and a hook for metrics."""

from __future__ import annotations

import pytest

from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.resilience import (
    BackendPolicy,
    BreakerState,
    PolicyRegistry,
    breaker_states,
    policies,
)
from ledgerbridge.runtime.settings import ResilienceSettings


async def fail() -> None:
    raise BackendUnavailable("HTTP 503", backend="erp")


async def test_listeners_hear_state_changes_of_the_current_policy_only() -> None:
    """A subscriber sees the registered breaker open; a replaced policy no longer speaks."""
    registry = PolicyRegistry()
    heard: list[tuple[str, BreakerState]] = []
    registry.subscribe(lambda backend, state: heard.append((backend, state)))
    settings = ResilienceSettings(breaker_threshold=1)
    old = BackendPolicy.from_settings("erp", settings)
    registry.register(old)
    new = BackendPolicy.from_settings("erp", settings)
    registry.register(new)
    for guarded in (old, new):
        with pytest.raises(BackendUnavailable):
            await guarded.call(fail)
    assert heard == [("erp", BreakerState.OPEN)]
    assert registry.breaker_states()["erp"].state is BreakerState.OPEN
    assert registry.policy_for("erp") is new


def test_unknown_backend_gets_a_default_policy() -> None:
    """policy_for registers a policy with default settings for a backend nobody configured."""
    made = policies.policy_for("salesforce")
    assert policies.policy_for("salesforce") is made
    assert made.retry.attempts == ResilienceSettings().retry_attempts
    snapshot = breaker_states()["salesforce"]
    assert (snapshot.state, snapshot.failures, snapshot.retry_after) == (
        BreakerState.CLOSED,
        0,
        None,
    )
