"""BackendPolicy: retries only what is safe to repeat, a breaker, a bulkhead, a timeout."""

from __future__ import annotations

import asyncio

import pytest
from tests.unit.resilience.fake_clock import FakeClock

from ledgerbridge.runtime.errors import BackendRejected, BackendUnavailable, NotFound
from ledgerbridge.runtime.resilience import (
    BackendPolicy,
    BreakerState,
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    CircuitOpen,
    RetryPolicy,
)
from ledgerbridge.runtime.settings import ResilienceSettings, Settings


class FlakyBackend:
    """A backend that fails its first ``failures`` calls with ``error``, then answers."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or BackendUnavailable("HTTP 503", backend="erp", status_code=503)
        self.calls = 0

    async def read(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "record"


def policy(clock: FakeClock | None = None, **overrides: float) -> BackendPolicy:
    settings = ResilienceSettings.model_validate(
        {"retry_attempts": 4, "breaker_threshold": 3, "breaker_reset_timeout": 30, **overrides}
    )
    built = BackendPolicy.from_settings("erp", settings)
    if clock is not None:
        built.breaker = CircuitBreaker(
            "erp",
            threshold=settings.breaker_threshold,
            reset_timeout=settings.breaker_reset_timeout,
            clock=clock.time,
        )
    return built


async def test_repeatable_call_is_retried_until_it_succeeds() -> None:
    """A read failing three times with BackendUnavailable succeeds on the fourth attempt."""
    backend = FlakyBackend(failures=3)
    assert await policy().call(backend.read, repeatable=True) == "record"
    assert backend.calls == 4


async def test_retries_stop_at_the_configured_attempts() -> None:
    """After its attempts run out the last BackendUnavailable reaches the caller."""
    backend = FlakyBackend(failures=10)
    with pytest.raises(BackendUnavailable, match="503"):
        await policy(retry_attempts=3).call(backend.read, repeatable=True)
    assert backend.calls == 3


async def test_plain_create_runs_once() -> None:
    """A call not marked repeatable is made once, even when the backend was unavailable."""
    backend = FlakyBackend(failures=1)
    with pytest.raises(BackendUnavailable):
        await policy().call(backend.read)
    assert backend.calls == 1


@pytest.mark.parametrize(
    "error",
    [NotFound("no such order", backend="erp"), BackendRejected("bad field", backend="erp")],
)
async def test_only_backend_unavailable_is_retried(error: Exception) -> None:
    """A refusal or a missing record is final: no second attempt."""
    backend = FlakyBackend(failures=1, error=error)
    with pytest.raises(type(error)):
        await policy().call(backend.read, repeatable=True)
    assert backend.calls == 1


async def test_an_attempt_past_the_timeout_is_unavailable_and_retried() -> None:
    """An attempt slower than call_timeout fails as BackendUnavailable and is tried again."""
    calls = 0

    async def slow_then_fast() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(10)
        return "record"

    assert await policy(call_timeout=0.01).call(slow_then_fast, repeatable=True) == "record"
    assert calls == 2
    with pytest.raises(BackendUnavailable, match=r"no answer within 0\.01s"):
        await policy(call_timeout=0.01).call(lambda: asyncio.sleep(10))


async def test_keyed_write_is_repeated_as_a_whole() -> None:
    """repeat_keyed runs the lookup-then-create again when its create was unavailable."""
    created: list[str] = []
    guarded = policy()
    lost_answers = FlakyBackend(failures=2)

    async def ensure() -> str:
        if created:  # the lookup finds what an earlier attempt made
            return created[0]
        await guarded.call(lost_answers.read)
        created.append("partner-1")
        return "partner-1"

    assert await guarded.repeat_keyed(ensure) == "partner-1"
    assert (lost_answers.calls, created) == (3, ["partner-1"])


async def test_breaker_opens_after_threshold_and_fails_fast(clock: FakeClock) -> None:
    """Three failed calls in a row open the breaker; the next fails fast with Retry-After."""
    guarded = policy(clock)
    backend = FlakyBackend(failures=100)
    for _ in range(3):
        with pytest.raises(BackendUnavailable):
            await guarded.call(backend.read, repeatable=True)
    assert backend.calls == 12  # three calls of four attempts each
    assert guarded.breaker.snapshot().state is BreakerState.OPEN
    clock.advance(10)
    with pytest.raises(CircuitOpen) as caught:
        await guarded.call(backend.read, repeatable=True)
    assert caught.value.retry_after == 20
    assert backend.calls == 12  # failed fast: the backend saw nothing


async def test_not_found_does_not_count_against_the_breaker(clock: FakeClock) -> None:
    """A backend answering 404 is up: the breaker stays closed."""
    guarded = policy(clock)
    missing = FlakyBackend(failures=100, error=NotFound("gone", backend="erp"))
    for _ in range(5):
        with pytest.raises(NotFound):
            await guarded.call(missing.read, repeatable=True)
    assert guarded.breaker.snapshot().state is BreakerState.CLOSED


async def test_half_open_probe_closes_or_reopens(clock: FakeClock) -> None:
    """After the reset timeout one probe goes through: failing reopens, succeeding closes."""
    guarded = policy(clock, retry_attempts=1)
    seen: list[BreakerState] = []
    guarded.breaker.subscribe(lambda backend, state: seen.append(state))
    down = FlakyBackend(failures=100)
    for _ in range(3):
        with pytest.raises(BackendUnavailable):
            await guarded.call(down.read)
    clock.advance(31)
    assert guarded.breaker.snapshot().state is BreakerState.HALF_OPEN
    with pytest.raises(BackendUnavailable) as probe:
        await guarded.call(down.read)
    assert not isinstance(probe.value, CircuitOpen)  # the probe reached the backend
    assert guarded.breaker.snapshot().state is BreakerState.OPEN
    clock.advance(31)
    assert await guarded.call(FlakyBackend(failures=0).read) == "record"
    snapshot = guarded.breaker.snapshot()
    assert (snapshot.state, snapshot.failures, snapshot.retry_after) == (
        BreakerState.CLOSED,
        0,
        None,
    )
    assert seen == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


async def test_a_success_resets_the_failure_count(clock: FakeClock) -> None:
    """Failures must come in a row to open the breaker."""
    guarded = policy(clock, retry_attempts=1)
    for _ in range(5):
        with pytest.raises(BackendUnavailable):
            await guarded.call(FlakyBackend(failures=1).read)
        assert await guarded.call(FlakyBackend(failures=0).read) == "record"
    assert guarded.breaker.snapshot().state is BreakerState.CLOSED


async def test_bulkhead_limits_calls_in_flight() -> None:
    """With two slots, a third call waits until one frees and never runs alongside them."""
    bulkhead = Bulkhead("erp", max_concurrency=2, max_queue_wait=5)
    guarded = BackendPolicy(
        "erp",
        call_timeout=5,
        retry=RetryPolicy(),
        breaker=CircuitBreaker("erp", threshold=3, reset_timeout=30),
        bulkhead=bulkhead,
    )
    release = asyncio.Event()
    peak = 0

    async def hold() -> None:
        nonlocal peak
        peak = max(peak, bulkhead.in_flight)
        await release.wait()

    calls = [asyncio.create_task(guarded.call(hold)) for _ in range(3)]
    await asyncio.sleep(0)
    assert (bulkhead.in_flight, bulkhead.waiting) == (2, 1)
    release.set()
    await asyncio.gather(*calls)
    assert (peak, bulkhead.in_flight, bulkhead.waiting) == (2, 0, 0)


async def test_full_bulkhead_rejects_without_opening_the_breaker(clock: FakeClock) -> None:
    """No slot within max_queue_wait raises BulkheadFull; load shedding is no outage."""
    guarded = policy(clock, max_concurrency=1, max_queue_wait=0, retry_attempts=1)
    release = asyncio.Event()
    holder = asyncio.create_task(guarded.call(release.wait))
    await asyncio.sleep(0)
    for _ in range(5):
        with pytest.raises(BulkheadFull):
            await guarded.call(FlakyBackend(failures=0).read)
    release.set()
    await holder
    assert guarded.breaker.snapshot().state is BreakerState.CLOSED


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each backend's resilience is configured under its own nested prefix."""
    monkeypatch.setenv("LEDGERBRIDGE_S4HANA__RESILIENCE__BREAKER_THRESHOLD", "7")
    monkeypatch.setenv("LEDGERBRIDGE_SALESFORCE__RESILIENCE__RETRY_ATTEMPTS", "2")
    settings = Settings()
    built = BackendPolicy.from_settings("s4hana", settings.s4hana.resilience)
    assert built.breaker.threshold == 7
    assert settings.salesforce.resilience.retry_attempts == 2
    assert settings.s4hana.resilience.retry_attempts == ResilienceSettings().retry_attempts
