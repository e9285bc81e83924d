"""Resilience tests never sleep for a backoff and read breaker time from a clock they move."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from purgatory.domain import model as purgatory_model
from tests.unit.resilience.fake_clock import FakeClock

from ledgerbridge.runtime.resilience import policies, set_testing


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)
    policies.clear()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake wall clock, also the one purgatory's breakers read."""
    fake = FakeClock()
    monkeypatch.setattr(purgatory_model, "time", fake)
    return fake
