"""A small house with the embedded token service and guarded APIs, on one controllable clock."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from joserfc.jwk import ECKey
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.security import (
    ClientRecord,
    ClientRegistry,
    JwksCache,
    KeyRing,
    ResourceGuard,
    TokenService,
    hash_secret,
    token_service_app,
)
from ledgerbridge.runtime.settings import AuthSettings

BASE = "http://ledgerbridge.internal"
ISSUER = f"{BASE}/auth"
TOKEN_URL = f"{ISSUER}/token"
PREFIX = "urn:ledgerbridge:"
SECRET = "s3cret-for-tests-only"

APIS = [
    ApiMetadata(
        "crm-orders", Layer.SYSTEM, 1, "crm", "Orders.", ("crm-orders:read", "crm-orders:write")
    ),
    ApiMetadata(
        "order-to-cash",
        Layer.PROCESS,
        1,
        "o2c",
        "O2C.",
        ("order-to-cash:read", "order-to-cash:write"),
    ),
    ApiMetadata(
        "customer-portal", Layer.EXPERIENCE, 1, "web", "Portal.", ("customer-portal:read",)
    ),
    ApiMetadata("partner", Layer.EXPERIENCE, 1, "b2b", "Partners.", ("partner:orders",)),
]


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami() -> dict[str, str]:
        return {"ok": "yes"}

    @router.post("/orders")
    async def submit() -> dict[str, str]:
        return {"ok": "submitted"}

    return router


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


class SecuredHouse:
    """The token service at /auth and each API at its base path, the guard reading the
    issuer's JWKS over HTTP through discovery."""

    def __init__(self) -> None:
        self.clock = Clock()
        # One nonce secret for the token service and the APIs, as replicas would share it.
        self.auth = AuthSettings(issuer=ISSUER, nonce_secret=SecretStr(secrets.token_hex(32)))
        self.ring = KeyRing(clock=self.clock)
        self.partner_key = ECKey.generate_key("P-256", parameters={"alg": "ES256"}, auto_kid=True)
        self.clients = ClientRegistry(
            [
                ClientRecord(
                    client_id="back-office",
                    secret_hash=hash_secret(SECRET),
                    scopes=frozenset({"crm-orders:read", "crm-orders:write", "order-to-cash:read"}),
                    audiences=frozenset({f"{PREFIX}crm-orders", f"{PREFIX}order-to-cash"}),
                ),
                ClientRecord(
                    client_id="partner-7",
                    jwks={"keys": [self.partner_key.as_dict(private=False)]},
                    scopes=frozenset({"partner:orders"}),
                    audiences=frozenset({f"{PREFIX}partner"}),
                    dpop_bound=True,
                ),
                ClientRecord(
                    client_id="customer-portal",
                    secret_hash=hash_secret(SECRET),
                    scopes=frozenset({"order-to-cash:read", "order-to-cash:write"}),
                    audiences=frozenset({f"{PREFIX}order-to-cash"}),
                    acts_for=frozenset({f"{PREFIX}customer-portal"}),
                ),
                ClientRecord(
                    client_id="order-to-cash",
                    secret_hash=hash_secret(SECRET),
                    scopes=frozenset({"crm-orders:read", "crm-orders:write"}),
                    audiences=frozenset({f"{PREFIX}crm-orders"}),
                    acts_for=frozenset({f"{PREFIX}order-to-cash"}),
                ),
            ],
            clock=self.clock,
        )
        self.issued: list[tuple[str, str]] = []
        self.service = dataclasses.replace(
            TokenService.from_settings(
                self.auth, keys=self.ring, clients=self.clients, clock=self.clock
            ),
            on_issue=self._record,
        )
        self.app = Starlette(routes=[Mount("/auth", app=token_service_app(self.service))])
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE)
        self.jwks = JwksCache(ISSUER, self.http, min_refresh=0.0, clock=self.clock)
        self.guard = ResourceGuard.from_settings(self.auth, keys=self.jwks, clock=self.clock)
        for meta in APIS:
            api = build_api(meta, routers=[_router()], guard=self.guard)
            self.app.router.routes.append(Mount(meta.base_path, app=api))

    async def _record(self, client: ClientRecord, grant: str, _minted: object) -> None:
        self.issued.append((client.client_id, grant))

    async def token(self, data: dict[str, str], **kwargs: object) -> httpx.Response:
        return await self.http.post("/auth/token", data=data, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def house() -> AsyncIterator[SecuredHouse]:
    built = SecuredHouse()
    yield built
    await built.http.aclose()
