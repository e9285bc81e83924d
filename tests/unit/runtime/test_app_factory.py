"""The app factory: the middleware, errors and probes every API gets."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.errors import BackendUnavailable, MappingError, NotFound
from ledgerbridge.runtime.house import House, layer_http_client

META = ApiMetadata(name="widgets", layer=Layer.SYSTEM, version=1, owner="test", summary="Widgets")


class WidgetIn(BaseModel):
    name: str
    price: Decimal


def _widgets_app(ready: bool = True):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.post("/widgets")
    async def create(widget: WidgetIn) -> WidgetIn:
        return widget

    @router.get("/widgets/{widget_id}")
    async def get(widget_id: str) -> dict[str, str]:
        if widget_id == "gone":
            raise NotFound("no widget gone", backend="crm", fields=["widget_id"])
        if widget_id == "down":
            raise BackendUnavailable("timeout", backend="erp")
        if widget_id == "unmappable":
            raise MappingError(mapping_id="m", field="Price", rule="decimal", value="x")
        if widget_id == "boom":
            raise RuntimeError("secret internal host db01.internal")
        return {"id": widget_id}

    @router.get("/echo")
    async def echo(request: Request) -> dict[str, str | None]:
        return {
            "correlation": request.headers.get("x-correlation-id"),
            "traceparent": request.headers.get("traceparent"),
        }

    async def check() -> None:
        if not ready:
            raise ConnectionError("database away")

    return build_api(META, routers=[router], readiness=[check])


@pytest.fixture
def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_widgets_app()), base_url="http://t")


async def test_validation_error_is_problem_json_naming_the_field(client: httpx.AsyncClient) -> None:
    """A malformed body gets 422 problem+json that names the offending field."""
    response = await client.post("/widgets", json={"name": "w", "price": "not a number"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == ["price"]
    assert "price" in body["detail"]


@pytest.mark.parametrize(
    ("widget_id", "status", "kind"),
    [
        ("gone", 404, "not-found"),
        ("down", 503, "backend-unavailable"),
        ("unmappable", 422, "mapping"),
    ],
)
async def test_errors_of_the_tree_become_problems(
    client: httpx.AsyncClient, widget_id: str, status: int, kind: str
) -> None:
    """Each error of the tree maps to its status and problem type."""
    response = await client.get(f"/widgets/{widget_id}")
    assert response.status_code == status
    assert response.json()["type"].endswith(kind)


async def test_unexpected_errors_leak_nothing(client: httpx.AsyncClient) -> None:
    """An unhandled error is a bare 500 problem: no trace, no host names."""
    response = await client.get("/widgets/boom")
    assert response.status_code == 500
    assert "db01" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["correlation_id"] == response.headers["x-correlation-id"]


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    """Even a 404 from routing is problem+json."""
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_correlation_id_and_trace_are_continued(client: httpx.AsyncClient) -> None:
    """A caller's correlation id is echoed and its trace continued with a new span."""
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await client.get(
        "/widgets/1", headers={"X-Correlation-ID": "abc-123", "traceparent": parent}
    )
    assert response.headers["x-correlation-id"] == "abc-123"
    ours = response.headers["traceparent"].split("-")
    assert ours[1] == "0af7651916cd43dd8448eb211c80319c"
    assert ours[2] != "b7ad6b7169203331"


async def test_a_malformed_traceparent_starts_a_new_trace(client: httpx.AsyncClient) -> None:
    """A malformed traceparent is replaced, never echoed."""
    response = await client.get("/widgets/1", headers={"traceparent": "garbage"})
    assert response.headers["traceparent"].startswith("00-")
    assert len(response.headers["traceparent"].split("-")[1]) == 32


async def test_probes() -> None:
    """/healthz answers while alive; /readyz fails with 503 when a readiness check fails."""
    up = httpx.AsyncClient(transport=httpx.ASGITransport(app=_widgets_app()), base_url="http://t")
    down = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_widgets_app(ready=False)), base_url="http://t"
    )
    assert (await up.get("/healthz")).json()["api"] == "widgets"
    assert (await up.get("/readyz")).status_code == 200
    not_ready = await down.get("/readyz")
    assert not_ready.status_code == 503
    assert "database away" in not_ready.json()["detail"]


async def test_in_process_hop_carries_the_context() -> None:
    """A call through the house from inside a request carries its correlation id and trace."""
    house = House()
    below = layer_http_client(house, None)
    caller_meta = ApiMetadata(
        name="caller", layer=Layer.PROCESS, version=1, owner="test", summary="Calls widgets"
    )
    router = APIRouter()

    @router.get("/relay")
    async def relay() -> dict[str, str | None]:
        response = await below.get("/system/widgets/v1/echo")
        return dict(response.json())

    house.mount([_widgets_app(), build_api(caller_meta, routers=[router])])
    outside = httpx.AsyncClient(transport=httpx.ASGITransport(app=house.app), base_url="http://t")
    response = await outside.get("/process/caller/v1/relay", headers={"X-Correlation-ID": "c-1"})
    seen = response.json()
    assert seen["correlation"] == "c-1"
    assert seen["traceparent"].split("-")[1] == response.headers["traceparent"].split("-")[1]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"name": "\\udb57", "price": "1"}', "name"),
        (b'{"name": "w", "price": "1", "tags": [{"x": "ok"}, {"x": "a\\udc00"}]}', "tags.1.x"),
    ],
)
async def test_lone_surrogates_are_refused_naming_the_field(
    client: httpx.AsyncClient, raw: bytes, field: str
) -> None:
    """Text no backend can encode is a 422 naming its field, before any handler runs."""
    response = await client.post(
        "/widgets", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_valid_escapes_pass_the_guard(client: httpx.AsyncClient) -> None:
    """Escaped but valid text (a surrogate pair, an accent) reaches the handler intact."""
    raw = b'{"name": "caf\\u00e9 \\ud83d\\ude00", "price": "2.50"}'
    response = await client.post(
        "/widgets", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "café 😀"
