"""Breaker states, outbox relay rounds and dead-letter actions, read back from /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.dead_letters import Kind, discard_dead_letter, record_dead_letter
from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.messaging import Attempt, Message, OutboxRelay, Outgoing, add_to_outbox
from ledgerbridge.runtime.resilience import BackendPolicy, policies
from ledgerbridge.runtime.settings import ResilienceSettings
from ledgerbridge.runtime.store import Store


async def _scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    meta = ApiMetadata(name="metrics-house", layer=Layer.SYSTEM, version=1, owner="t", summary="t")
    transport = httpx.ASGITransport(app=build_api(meta, routers=[]))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        text = (await client.get("/metrics")).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(
    samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class _Bus:
    """Confirms every publish."""

    async def publish(self, topic: str, message: Message, **_: object) -> None:
        return None

    async def publish_many(self, batch: Sequence[Outgoing]) -> None:
        return None

    async def subscribe(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        return None


async def _fail() -> None:
    raise BackendUnavailable("HTTP 503", backend="metrics-erp")


async def test_a_breaker_shows_its_current_state_per_backend() -> None:
    """An opened breaker reads 1 on ``open`` and 0 on ``closed`` for its backend."""
    backend = f"erp-{uuid.uuid4().hex[:6]}"
    policies.register(BackendPolicy.from_settings(backend, ResilienceSettings(breaker_threshold=1)))
    before = await _scrape()
    assert _value(before, "ledgerbridge_breaker_state", backend=backend, state="closed") == 1
    with pytest.raises(BackendUnavailable):
        await policies.policy_for(backend).call(_fail)
    after = await _scrape()
    assert _value(after, "ledgerbridge_breaker_state", backend=backend, state="open") == 1
    assert _value(after, "ledgerbridge_breaker_state", backend=backend, state="closed") == 0


async def test_relay_rounds_count_published_rows_and_end_with_zero_lag(store: Store) -> None:
    """Three rows published show in the counter; the round that finds none sets the lag to 0."""
    before = _value(await _scrape(), "ledgerbridge_outbox_published_total")
    async with store.engine.begin() as conn:
        for n in range(3):
            message = Message.create(type="order.accepted", source="/tests", data={"n": n})
            await add_to_outbox(conn, "orders", message)
    assert await OutboxRelay(store.engine, _Bus()).drain() == 3
    after = await _scrape()
    assert _value(after, "ledgerbridge_outbox_published_total") - before == 3
    assert _value(after, "ledgerbridge_outbox_lag_seconds") == 0


async def test_dead_letter_actions_are_counted(store: Store) -> None:
    """Recording and discarding a dead letter each add one to their action's count."""
    before = await _scrape()
    async with store.engine.begin() as conn:
        letter_id = await record_dead_letter(
            conn,
            kind=Kind.MESSAGE,
            source="orders",
            consumer="erp-orders",
            message_id=str(uuid.uuid4()),
            payload={"sku": "UNKNOWN"},
            reason="permanent error",
            attempts=[Attempt(number=1, error="unknown sku", error_type="MappingError")],
        )
        await discard_dead_letter(conn, letter_id, reason="test data", actor="operator")
    after = await _scrape()
    for action in ("recorded", "discarded"):
        name = "ledgerbridge_dead_letters_total"
        assert _value(after, name, action=action) - _value(before, name, action=action) == 1
