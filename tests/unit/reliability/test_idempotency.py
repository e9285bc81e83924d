"""Idempotency-Key over real HTTP (ASGI transport), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.idempotency import (
    IdempotencyPolicy,
    install_idempotency,
    purge_expired_keys,
)
from ledgerbridge.runtime.store import Store

effects = sa.Table(
    "idem_orders",
    sa.MetaData(),
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("sku", sa.String(32), nullable=False),
)


class OrderIn(BaseModel):
    sku: str
    quantity: int = 1


@dataclass
class Harness:
    client: httpx.AsyncClient
    app: FastAPI
    store: Store
    gate: asyncio.Event
    fail_next: list[bool]

    async def effect_count(self) -> int:
        async with self.store.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(effects)
            return int((await conn.execute(query)).scalar_one())


def _app(
    store: Store, gate: asyncio.Event, fail_next: list[bool], policy: IdempotencyPolicy
) -> FastAPI:
    router = APIRouter()

    @router.post("/orders", status_code=201)
    async def create_order(order: OrderIn, response: Response) -> dict[str, str]:
        await gate.wait()
        if fail_next and fail_next.pop():
            raise BackendUnavailable("ERP down", backend="erp")
        order_id = str(uuid.uuid4())
        async with store.engine.begin() as conn:
            await conn.execute(effects.insert().values(order_id=order_id, sku=order.sku))
        response.headers["Location"] = f"/orders/{order_id}"
        return {"order_id": order_id, "sku": order.sku}

    @router.post("/exports")
    async def export(order: OrderIn) -> StreamingResponse:
        async def lines() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"{order.sku},{n}\n".encode()

        return StreamingResponse(lines(), media_type="text/csv")

    @router.post("/search")
    async def search(order: OrderIn) -> dict[str, str]:
        return {"sku": order.sku}

    @router.get("/orders")
    async def list_orders() -> list[str]:
        return []

    meta = ApiMetadata(
        name="idem-test", layer=Layer.PROCESS, version=1, owner="tests", summary="test API"
    )
    app = build_api(meta, routers=[router])
    install_idempotency(app, engine=store.engine, policy=policy)
    return app


async def _harness(store: Store, policy: IdempotencyPolicy) -> AsyncIterator[Harness]:
    async with store.engine.begin() as conn:
        await conn.run_sync(effects.metadata.create_all)
    gate = asyncio.Event()
    gate.set()
    fail_next: list[bool] = []
    app = _app(store, gate, fail_next, policy)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield Harness(client, app, store, gate, fail_next)


@pytest.fixture
async def api(store: Store) -> AsyncIterator[Harness]:
    """The test API with the default policy (keys required on POST)."""
    async for harness in _harness(store, IdempotencyPolicy(optional_paths=("/search",))):
        yield harness


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


async def test_missing_key_is_refused_with_400(api: Harness) -> None:
    """A POST without Idempotency-Key gets a 400 problem naming the header, and no effect."""
    response = await api.client.post("/orders", json={"sku": "A"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in response.json()["detail"]
    assert response.headers["x-correlation-id"]
    assert await api.effect_count() == 0


@pytest.mark.parametrize("value", [b'""', b"x" * 256, '"caf\u00e9"'.encode("latin-1")])
async def test_malformed_key_is_refused_with_400(api: Harness, value: bytes) -> None:
    """An empty, overlong or non-ASCII key is refused with 400."""
    headers = {"Idempotency-Key": value}
    response = await api.client.post(
        "/orders", content=b'{"sku": "A"}', headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 400


async def test_optional_paths_and_safe_methods_need_no_key(api: Harness) -> None:
    """GETs and POSTs under an optional path run without a key."""
    assert (await api.client.get("/orders")).status_code == 200
    assert (await api.client.post("/search", json={"sku": "A"})).status_code == 200


async def test_retry_after_completion_replays_status_headers_and_body(api: Harness) -> None:
    """The same key and payload again gets the stored 201, Location and body; one effect."""
    headers = _key()
    first = await api.client.post("/orders", json={"sku": "A"}, headers=headers)
    second = await api.client.post("/orders", json={"sku": "A"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await api.effect_count() == 1


async def test_unquoted_key_is_accepted(api: Harness) -> None:
    """A bare token key works like its quoted form."""
    key = str(uuid.uuid4())
    first = await api.client.post("/orders", json={"sku": "A"}, headers={"Idempotency-Key": key})
    again = await api.client.post(
        "/orders", json={"sku": "A"}, headers={"Idempotency-Key": f'"{key}"'}
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()


async def test_streaming_responses_are_stored_and_replayed(api: Harness) -> None:
    """A streamed body is passed through on the first request and replayed whole after."""
    headers = _key()
    first = await api.client.post("/exports", json={"sku": "A"}, headers=headers)
    second = await api.client.post("/exports", json={"sku": "A"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.text == second.text == "A,0\nA,1\nA,2\n"
    assert second.headers["content-type"].startswith("text/csv")


async def test_same_key_with_another_payload_is_refused_with_422(api: Harness) -> None:
    """Reusing a key for a different body gets 422 and no second effect."""
    headers = _key()
    assert (await api.client.post("/orders", json={"sku": "A"}, headers=headers)).status_code == 201
    other = await api.client.post("/orders", json={"sku": "B"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key")
    assert await api.effect_count() == 1


async def test_retry_while_the_first_is_in_flight_gets_409(api: Harness) -> None:
    """A retry arriving while the first request runs gets 409 with Retry-After."""
    headers = _key()
    api.gate.clear()
    first = asyncio.create_task(api.client.post("/orders", json={"sku": "A"}, headers=headers))
    await asyncio.sleep(0.2)
    retry = await api.client.post("/orders", json={"sku": "A"}, headers=headers)
    api.gate.set()
    assert retry.status_code == 409
    assert retry.headers["retry-after"] == "1"
    assert (await first).status_code == 201
    assert await api.effect_count() == 1


async def test_keys_are_scoped_per_client(api: Harness) -> None:
    """Two clients using the same key each get their own request run."""
    headers = _key()
    one = await api.client.post(
        "/orders", json={"sku": "A"}, headers={**headers, "Authorization": "Bearer one"}
    )
    two = await api.client.post(
        "/orders", json={"sku": "A"}, headers={**headers, "Authorization": "Bearer two"}
    )
    assert one.status_code == two.status_code == 201
    assert one.json()["order_id"] != two.json()["order_id"]
    assert await api.effect_count() == 2


async def test_server_error_releases_the_key_for_a_retry(api: Harness) -> None:
    """A 503 is not stored: the retry with the same key runs and succeeds."""
    headers = _key()
    api.fail_next.append(True)
    failed = await api.client.post("/orders", json={"sku": "A"}, headers=headers)
    retried = await api.client.post("/orders", json={"sku": "A"}, headers=headers)
    assert failed.status_code == 503
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert await api.effect_count() == 1


async def test_client_errors_are_stored_and_replayed(api: Harness) -> None:
    """A 422 validation answer is replayed for the same key and payload."""
    headers = _key()
    first = await api.client.post("/orders", json={"quantity": 2}, headers=headers)
    second = await api.client.post("/orders", json={"quantity": 2}, headers=headers)
    assert first.status_code == second.status_code == 422
    assert second.json()["errors"] == first.json()["errors"]
    assert second.headers["idempotent-replayed"] == "true"


async def test_expired_keys_can_be_reused(store: Store) -> None:
    """After the retention a key runs afresh, and purging removes expired keys."""
    policy = IdempotencyPolicy(retention=timedelta(milliseconds=50))
    async for api in _harness(store, policy):
        headers = _key()
        first = await api.client.post("/orders", json={"sku": "A"}, headers=headers)
        await asyncio.sleep(0.1)
        second = await api.client.post("/orders", json={"sku": "B"}, headers=headers)
        assert first.status_code == second.status_code == 201
        assert await api.effect_count() == 2
        await asyncio.sleep(0.1)
        async with store.engine.begin() as conn:
            assert await purge_expired_keys(conn) == 1


async def test_a_stale_in_flight_key_is_taken_over(store: Store) -> None:
    """A key in flight longer than in_flight_timeout no longer blocks: the retry runs."""
    policy = IdempotencyPolicy(in_flight_timeout=timedelta(milliseconds=100))
    async for api in _harness(store, policy):
        headers = _key()
        api.gate.clear()
        first = asyncio.create_task(api.client.post("/orders", json={"sku": "A"}, headers=headers))
        await asyncio.sleep(0.02)
        early = await api.client.post("/orders", json={"sku": "A"}, headers=headers)
        await asyncio.sleep(0.2)
        late = asyncio.create_task(api.client.post("/orders", json={"sku": "A"}, headers=headers))
        await asyncio.sleep(0.05)
        api.gate.set()
        assert early.status_code == 409
        assert (await late).status_code == 201
        assert (await first).status_code == 201


@pytest.mark.postgres
async def test_fifty_concurrent_requests_with_one_key_have_one_effect() -> None:
    """Fifty simultaneous POSTs with one key on PostgreSQL create one order."""
    from tests.conftest import fresh_postgres_database

    async with fresh_postgres_database() as url:
        store = Store(url)
        await store.upgrade()
        try:
            async for api in _harness(store, IdempotencyPolicy()):
                headers = _key()
                responses = await asyncio.gather(
                    *(
                        api.client.post("/orders", json={"sku": "A"}, headers=headers)
                        for _ in range(50)
                    )
                )
                statuses = [r.status_code for r in responses]
                created = {r.json()["order_id"] for r in responses if r.status_code == 201}
                assert await api.effect_count() == 1
        finally:
            await store.dispose()
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    assert len(created) == 1


async def test_installing_after_the_app_has_served_is_refused(api: Harness) -> None:
    """Middleware cannot be added to a running app, so installing late fails loudly."""
    await api.client.get("/orders")
    with pytest.raises(RuntimeError, match="before the app serves"):
        install_idempotency(api.app, engine=api.store.engine)
