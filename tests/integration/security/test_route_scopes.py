"""Routes asking for an operator's or administrator's scope on top of the operation's, and a
hop between layers carrying such a scope only when the end user holds it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import APIRouter, Depends

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.house import House, layer_http_client
from ledgerbridge.runtime.security import EmbeddedSecurity
from ledgerbridge.runtime.security.guard import ADMINISTER, OPERATE, require_scopes
from ledgerbridge.runtime.settings import AuthSettings

CONSOLE = ApiMetadata(
    "console", Layer.EXPERIENCE, 1, "ops", "Console.", ("console:write",), calls=("reviews",)
)
REVIEWS = ApiMetadata(
    "reviews", Layer.PROCESS, 1, "o2c", "Reviews.", ("reviews:read", "reviews:write")
)
BASE = "http://ledgerbridge.internal"


@dataclass
class Scene:
    security: EmbeddedSecurity
    http: httpx.AsyncClient


def _reviews() -> APIRouter:
    router = APIRouter()

    @router.post("/approval", dependencies=[Depends(require_scopes(OPERATE))])
    async def approve() -> dict[str, str]:
        return {"done": "approved"}

    @router.post("/purge", dependencies=[Depends(require_scopes(ADMINISTER))])
    async def purge() -> dict[str, str]:
        return {"done": "purged"}

    return router


def _console(below: httpx.AsyncClient) -> APIRouter:
    router = APIRouter()

    @router.post("/approve")
    async def approve() -> dict[str, object]:
        answer = await below.post("/process/reviews/v1/approval")
        return {"status": answer.status_code}

    return router


@pytest.fixture
async def scene() -> AsyncIterator[Scene]:
    security = EmbeddedSecurity.from_settings(AuthSettings())
    house = House()
    link = layer_http_client(house, None)
    link.auth = security.layer_tokens(layer_http_client(house, None))
    house.mount(
        [build_api(REVIEWS, routers=[_reviews()]), build_api(CONSOLE, routers=[_console(link)])]
    )
    security.secure(house)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=house.app), base_url=BASE
    ) as http:
        yield Scene(security, http)
    await link.aclose()


def _user(scene: Scene, api: str, scopes: set[str]) -> dict[str, str]:
    token = scene.security.service.issuer.issue(
        subject="user-1", client_id="sign-in", audience=f"urn:ledgerbridge:{api}", scopes=scopes
    ).token
    return {"Authorization": f"Bearer {token}"}


async def test_a_route_scope_is_asked_for_on_top_of_the_write_scope(scene: Scene) -> None:
    """The write scope alone is a 403 naming the route's scope; with it the route runs;
    ops:operate does not stand in for ops:administer."""
    path = "/process/reviews/v1/approval"
    refused = await scene.http.post(path, headers=_user(scene, "reviews", {"reviews:write"}))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/insufficient-scope")
    assert 'scope="ops:operate"' in refused.headers["WWW-Authenticate"]
    operator = _user(scene, "reviews", {"reviews:write", OPERATE})
    assert (await scene.http.post(path, headers=operator)).json() == {"done": "approved"}
    purge = await scene.http.post("/process/reviews/v1/purge", headers=operator)
    assert purge.status_code == 403
    assert 'scope="ops:administer"' in purge.headers["WWW-Authenticate"]


async def test_a_hop_carries_the_route_scope_only_for_a_user_holding_it(scene: Scene) -> None:
    """The console's client is registered with the scope its callee's routes ask for; the
    hop asks for it only when the signed-in user's token holds it."""
    client = scene.security.service.clients.get("console")
    assert client is not None
    assert OPERATE in client.scopes
    assert ADMINISTER in client.scopes
    path = "/experience/console/v1/approve"
    writer = await scene.http.post(path, headers=_user(scene, "console", {"console:write"}))
    assert writer.json() == {"status": 403}
    operator = _user(scene, "console", {"console:write", OPERATE})
    assert (await scene.http.post(path, headers=operator)).json() == {"status": 200}
