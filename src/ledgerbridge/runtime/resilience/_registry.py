"""The backend policies in force, by backend name: where operators read breaker states and
where metrics subscribe to their changes.

The composition root registers one policy per backend; a System API that is handed only a
connector looks its backend's policy up here.
"""

from __future__ import annotations

from ledgerbridge.runtime.resilience._circuit_breaker import (
    BreakerListener,
    BreakerSnapshot,
    BreakerState,
)
from ledgerbridge.runtime.resilience._policy import BackendPolicy
from ledgerbridge.runtime.settings import ResilienceSettings


class PolicyRegistry:
    """Policies by backend name, and the listeners told of every breaker's state changes."""

    def __init__(self) -> None:
        self._policies: dict[str, BackendPolicy] = {}
        self._listeners: list[BreakerListener] = []

    def register(self, policy: BackendPolicy) -> None:
        """Make ``policy`` the one of its backend, replacing any before it."""
        if self._policies.get(policy.backend) is policy:
            return
        self._policies[policy.backend] = policy

        def notify(backend: str, state: BreakerState) -> None:
            # A replaced policy may still be in use somewhere; only the current one speaks.
            if self._policies.get(backend) is policy:
                for listener in list(self._listeners):
                    listener(backend, state)

        policy.breaker.subscribe(notify)

    def policy_for(self, backend: str) -> BackendPolicy:
        """The policy of ``backend``; one with default settings if none was registered."""
        if backend not in self._policies:
            self.register(BackendPolicy.from_settings(backend, ResilienceSettings()))
        return self._policies[backend]

    def breaker_states(self) -> dict[str, BreakerSnapshot]:
        """Every registered backend's breaker, by backend name."""
        return {name: p.breaker.snapshot() for name, p in sorted(self._policies.items())}

    def subscribe(self, listener: BreakerListener) -> None:
        """Tell ``listener`` of every state change of every registered breaker."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: BreakerListener) -> None:
        """Stop telling ``listener``."""
        self._listeners.remove(listener)

    def clear(self) -> None:
        """Forget every policy (tests start from a clean registry); listeners stay."""
        self._policies.clear()


policies = PolicyRegistry()
"""The process's registry; the composition root fills it."""


def breaker_states() -> dict[str, BreakerSnapshot]:
    """Every registered backend's breaker, by backend name."""
    return policies.breaker_states()
