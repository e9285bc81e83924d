"""A backend that asked for a pause (BackendPaused): no retries, no breaker trip, Retry-After."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from tests.unit.resilience.fake_clock import FakeClock
from tests.unit.resilience.test_policy import FlakyBackend, policy

from ledgerbridge.runtime.errors import BackendPaused
from ledgerbridge.runtime.problems import install_problem_handlers
from ledgerbridge.runtime.resilience import BreakerState, CircuitOpen, is_retryable


def _paused() -> BackendPaused:
    return BackendPaused("REQUEST_LIMIT_EXCEEDED", backend="salesforce", retry_after=42)


async def test_a_pause_is_not_retried() -> None:
    """Even a repeatable call is made once when the backend says to hold off."""
    backend = FlakyBackend(failures=1, error=_paused())
    with pytest.raises(BackendPaused):
        await policy().call(backend.read, repeatable=True)
    assert backend.calls == 1
    assert not is_retryable(_paused())
    assert not is_retryable(CircuitOpen("erp", retry_after=1))


async def test_a_pause_does_not_open_the_breaker(clock: FakeClock) -> None:
    """A rate limit says the backend is up: the breaker stays closed however often it comes."""
    guarded = policy(clock)
    backend = FlakyBackend(failures=100, error=_paused())
    for _ in range(5):
        with pytest.raises(BackendPaused):
            await guarded.call(backend.read, repeatable=True)
    assert guarded.breaker.snapshot().state is BreakerState.CLOSED


async def test_a_pause_answers_503_with_retry_after() -> None:
    """At the HTTP edge a pause is a 503 problem whose Retry-After is the pause left."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/accounts")
    async def accounts() -> None:
        raise _paused()

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://api") as http:
        response = await http.get("/accounts")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "42"
    assert response.headers["content-type"] == "application/problem+json"
