"""A house with auth on: each hop between layers trades the caller's token for the next API's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import APIRouter, Request

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.house import House, layer_http_client
from ledgerbridge.runtime.observability import current_api_var
from ledgerbridge.runtime.security import EmbeddedSecurity, caller
from ledgerbridge.runtime.settings import AuthSettings, Settings

PORTAL = ApiMetadata(
    "customer-portal",
    Layer.EXPERIENCE,
    1,
    "web",
    "Portal.",
    ("customer-portal:read",),
    calls=("order-to-cash",),
)
O2C = ApiMetadata(
    "order-to-cash",
    Layer.PROCESS,
    1,
    "o2c",
    "O2C.",
    ("order-to-cash:read", "order-to-cash:write"),
    calls=("crm-orders",),
)
ORDERS = ApiMetadata(
    "crm-orders", Layer.SYSTEM, 1, "crm", "Orders.", ("crm-orders:read", "crm-orders:write")
)


@dataclass
class Secured:
    house: House
    security: EmbeddedSecurity
    http: httpx.AsyncClient


def _orders() -> APIRouter:
    router = APIRouter()

    @router.get("/orders/{order_id}")
    async def read(order_id: str, request: Request) -> dict[str, object]:
        token = caller(request)
        assert token is not None
        return {
            "id": order_id,
            "sub": token.subject,
            "actors": token.actors,
            "aud": token.claims["aud"],
        }

    @router.post("/orders")
    async def write() -> dict[str, str]:
        return {"id": "new"}

    return router


def _relay(below: httpx.AsyncClient, path: str) -> APIRouter:
    router = APIRouter()

    @router.get("/orders/{order_id}")
    async def read(order_id: str) -> object:
        answer = await below.get(f"{path}/orders/{order_id}")
        return answer.json()

    @router.post("/orders")
    async def write() -> object:
        answer = await below.post(f"{path}/orders")
        return {"status": answer.status_code}

    return router


@pytest.fixture
async def secured() -> AsyncIterator[Secured]:
    settings = Settings(auth_mode="jwt", auth=AuthSettings())
    security = EmbeddedSecurity.from_settings(settings.auth)
    house = House()
    link = layer_http_client(house, None)
    link.auth = security.layer_tokens(layer_http_client(house, None))
    house.mount(
        [
            build_api(ORDERS, routers=[_orders()]),
            build_api(O2C, routers=[_relay(link, "/system/crm-orders/v1")]),
            build_api(PORTAL, routers=[_relay(link, "/process/order-to-cash/v1")]),
        ]
    )
    security.secure(house)
    transport = httpx.ASGITransport(app=house.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://ledgerbridge.internal"
    ) as http:
        yield Secured(house, security, http)
    await link.aclose()


def _customer(secured: Secured, scopes: set[str]) -> dict[str, str]:
    token = secured.security.service.issuer.issue(
        subject="customer-42",
        client_id="portal-web",
        audience="urn:ledgerbridge:customer-portal",
        scopes=scopes,
    ).token
    return {"Authorization": f"Bearer {token}"}


async def test_a_read_crosses_two_hops_with_the_actor_chain(secured: Secured) -> None:
    """The System API sees the customer as subject, itself as audience, and both layers in act."""
    answer = await secured.http.get(
        "/experience/customer-portal/v1/orders/O-1",
        headers=_customer(secured, {"customer-portal:read"}),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "id": "O-1",
        "sub": "customer-42",
        "actors": ["order-to-cash", "customer-portal"],
        "aud": "urn:ledgerbridge:crm-orders",
    }


async def test_the_house_refuses_callers_without_tokens(secured: Secured) -> None:
    """Every API of the secured house answers 401 without a token; the token service is open."""
    for path in (
        "/experience/customer-portal/v1/orders/O-1",
        "/process/order-to-cash/v1/orders/O-1",
        "/system/crm-orders/v1/orders/O-1",
    ):
        assert (await secured.http.get(path)).status_code == 401
    assert (await secured.http.get("/auth/jwks")).status_code == 200


async def test_a_read_only_customer_cannot_write_below(secured: Secured) -> None:
    """A read-only customer gets no write token for the Process layer: it answers 401."""
    answer = await secured.http.post(
        "/experience/customer-portal/v1/orders",
        headers=_customer(secured, {"customer-portal:read"}),
    )
    assert answer.status_code == 200
    assert answer.json() == {"status": 401}


async def test_a_writer_writes_through_the_process_layer(secured: Secured) -> None:
    """A caller holding order-to-cash:write gets crm-orders:write on the hop below."""
    token = secured.security.service.issuer.issue(
        subject="clerk-1",
        client_id="back-office",
        audience="urn:ledgerbridge:order-to-cash",
        scopes={"order-to-cash:write"},
    ).token
    answer = await secured.http.post(
        "/process/order-to-cash/v1/orders", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.json() == {"status": 200}


async def test_a_worker_without_caller_uses_its_own_client(secured: Secured) -> None:
    """With no caller token, the calling API gets a token of its own (client credentials)."""
    marker = current_api_var.set("order-to-cash")
    try:
        async with layer_http_client(secured.house, None) as link:
            link.auth = secured.security.layer_tokens(secured.http)
            answer = await link.get("/system/crm-orders/v1/orders/O-9")
    finally:
        current_api_var.reset(marker)
    assert answer.status_code == 200
    assert (answer.json()["sub"], answer.json()["actors"]) == ("order-to-cash", [])
