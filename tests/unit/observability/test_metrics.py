"""Prometheus metrics on every API built by the factory, read back from /metrics over HTTP."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter, HTTPException, Request
from prometheus_client.parser import text_string_to_metric_families

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.observability import record_saga_step
from ledgerbridge.runtime.security.tokens import AccessToken


def _api(name: str) -> httpx.AsyncClient:
    router = APIRouter()

    @router.get("/mine")
    async def mine(request: Request) -> dict[str, str]:
        # What the resource guard leaves for the layers inside it once it accepts a token.
        request.state.access_token = AccessToken(
            raw="t", claims={"sub": "partner-7", "client_id": "partner-7"}
        )
        return {}

    @router.get("/things/{thing}")
    async def thing(thing: str) -> dict[str, str]:
        if thing == "missing":
            raise HTTPException(404, "no such thing")
        return {"thing": thing}

    meta = ApiMetadata(name=name, layer=Layer.SYSTEM, version=3, owner="t", summary="test")
    app = build_api(meta, routers=[router])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def _samples(text: str, metric: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def test_requests_errors_and_latency_are_counted_per_api_version_and_consumer() -> None:
    """Each answered request shows in /metrics under its API, version, consumer and status."""
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    async with _api(name) as client:
        for _ in range(3):
            assert (await client.get("/things/a", headers={"X-Consumer-ID": "portal"})).is_success
        assert (await client.get("/things/missing")).status_code == 404
        text = (await client.get("/metrics")).text
    ours = {"api": name, "version": "v3"}
    assert _samples(text, "ledgerbridge_http_requests_total", **ours, consumer="portal") == 3
    assert _samples(text, "ledgerbridge_http_errors_total", **ours, status="404") == 1
    assert (
        _samples(
            text, "ledgerbridge_http_request_duration_seconds_count", **ours, consumer="anonymous"
        )
        == 1
    )


async def test_an_unfit_consumer_header_does_not_become_a_label() -> None:
    """Free text in X-Consumer-ID is counted as 'invalid', keeping the label space bounded."""
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    async with _api(name) as client:
        await client.get("/things/a", headers={"X-Consumer-ID": "DROP TABLE; " * 10})
        text = (await client.get("/metrics")).text
    assert _samples(text, "ledgerbridge_http_requests_total", api=name, consumer="invalid") == 1


async def test_probes_and_metrics_are_not_counted_as_api_traffic() -> None:
    """Health probes and scrapes stay out of the API's request counts."""
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    async with _api(name) as client:
        await client.get("/healthz")
        await client.get("/metrics")
        text = (await client.get("/metrics")).text
    assert _samples(text, "ledgerbridge_http_requests_total", api=name) == 0


async def test_saga_steps_reported_by_a_process_show_in_metrics() -> None:
    """The saga step hook counts steps by process, step and outcome."""
    process = f"saga-{uuid.uuid4().hex[:8]}"
    record_saga_step(process, "create-sales-order", "ok")
    record_saga_step(process, "create-sales-order", "ok")
    record_saga_step(process, "create-sales-order", "failed")
    async with _api("metrics-saga") as client:
        text = (await client.get("/metrics")).text
    steps = "ledgerbridge_saga_steps_total"
    assert _samples(text, steps, process=process, outcome="ok") == 2
    assert _samples(text, steps, process=process, outcome="failed") == 1


async def test_an_authenticated_client_is_the_consumer_whatever_the_header_says() -> None:
    """With an accepted access token, its client id is counted, not the X-Consumer-ID claim."""
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    async with _api(name) as client:
        await client.get("/mine", headers={"X-Consumer-ID": "someone-else"})
        text = (await client.get("/metrics")).text
    assert _samples(text, "ledgerbridge_http_requests_total", api=name, consumer="partner-7") == 1
    assert (
        _samples(text, "ledgerbridge_http_requests_total", api=name, consumer="someone-else") == 0
    )
