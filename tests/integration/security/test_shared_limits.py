"""Two instances of an API sharing Redis (127.0.0.1:6379) as two replicas would: a DPoP proof
used at one is refused at the other, and a caller has one request budget across both."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis
from fastapi import APIRouter
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.security import DpopKey, KeyRing, ResourceGuard, TokenIssuer
from ledgerbridge.runtime.security.layers import shared_redis
from ledgerbridge.runtime.security.limits import RedisTokenBuckets
from ledgerbridge.runtime.security.replay import RedisReplayCache
from ledgerbridge.runtime.settings import AuthSettings

BASE = "http://ledgerbridge.internal"
ISSUER = f"{BASE}/auth"
REDIS_URL = "redis://127.0.0.1:6379/15"
PARTNER = ApiMetadata("partner", Layer.EXPERIENCE, 1, "b2b", "Partners.", ("partner:orders",))
ORDERS = ApiMetadata(
    "crm-orders", Layer.SYSTEM, 1, "crm", "Orders.", ("crm-orders:read", "crm-orders:write")
)


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami() -> dict[str, str]:
        return {"ok": "yes"}

    return router


class Replicas:
    """The same API twice, each with its own guard and its own Redis connection."""

    def __init__(self, meta: ApiMetadata, *, shared: bool) -> None:
        self.auth = AuthSettings(
            issuer=ISSUER,
            nonce_secret=SecretStr(secrets.token_hex(32)),
            rate_limit_burst=3,
            rate_limit_per_second=0.001,  # no refill while the test runs
        )
        self.ring = KeyRing()
        self.issuer = TokenIssuer(ISSUER, self.ring)
        self.url = f"{BASE}{meta.base_path}/whoami"
        self.redis: list[redis.Redis] = []
        self.http: list[httpx.AsyncClient] = []
        for _ in range(2):
            connection = redis.Redis.from_url(REDIS_URL) if shared else None
            if connection is not None:
                self.redis.append(connection)
            guard = ResourceGuard.from_settings(self.auth, keys=self.ring, shared=connection)
            api = build_api(meta, routers=[_router()], guard=guard)
            app = Starlette(routes=[Mount(meta.base_path, app=api)])
            self.http.append(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=f"{BASE}{meta.base_path}"
                )
            )

    async def aclose(self) -> None:
        for client in self.http:
            await client.aclose()
        for connection in self.redis:
            connection.close()


@pytest.fixture
async def partner_replicas() -> AsyncIterator[Replicas]:
    replicas = Replicas(PARTNER, shared=True)
    yield replicas
    await replicas.aclose()


@pytest.fixture
async def order_replicas() -> AsyncIterator[Replicas]:
    replicas = Replicas(ORDERS, shared=True)
    yield replicas
    await replicas.aclose()


async def _replayed(replicas: Replicas) -> tuple[int, httpx.Response]:
    """A proof used at the first replica, then sent again to the second."""
    key = DpopKey.generate()
    token = replicas.issuer.issue(
        subject=f"partner-{uuid.uuid4().hex[:8]}",
        client_id="partner-7",
        audience="urn:ledgerbridge:partner",
        scopes={"partner:orders"},
        jkt=key.jkt,
        extra={"partner_id": "partner-7"},
    ).token
    first, second = replicas.http
    probe = await first.get(
        "/whoami",
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": key.proof("GET", replicas.url, access_token=token),
        },
    )
    nonce = probe.headers["DPoP-Nonce"]
    proof = key.proof("GET", replicas.url, access_token=token, nonce=nonce)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    used = await first.get("/whoami", headers=headers)
    return used.status_code, await second.get("/whoami", headers=headers)


async def test_a_dpop_proof_replayed_at_another_replica_is_refused(
    partner_replicas: Replicas,
) -> None:
    """The proof passes at one replica and is a 401 (replay) at the other."""
    used, replayed = await _replayed(partner_replicas)
    assert used == 200
    assert replayed.status_code == 401
    assert "DPoP" in replayed.headers["WWW-Authenticate"]
    assert "replay" in replayed.json()["detail"]


async def test_without_redis_each_replica_remembers_only_its_own_proofs() -> None:
    """The in-process default, for contrast: the other replica takes the replayed proof."""
    replicas = Replicas(PARTNER, shared=False)
    try:
        used, replayed = await _replayed(replicas)
    finally:
        await replicas.aclose()
    assert (used, replayed.status_code) == (200, 200)


def _clerk(replicas: Replicas) -> dict[str, str]:
    """The Authorization header of a new back-office user's read token."""
    token = replicas.issuer.issue(
        subject=f"clerk-{uuid.uuid4().hex[:8]}",
        client_id="back-office",
        audience="urn:ledgerbridge:crm-orders",
        scopes={"crm-orders:read"},
    ).token
    return {"Authorization": f"Bearer {token}"}


async def test_replicas_share_one_request_budget(order_replicas: Replicas) -> None:
    """A burst of three spread over both replicas spends one budget: the fourth request is
    a 429 whichever replica gets it, and another caller keeps its own budget."""
    headers = _clerk(order_replicas)
    first, second = order_replicas.http
    answers = [
        await http.get("/whoami", headers=headers) for http in (first, second, first, second)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit"].split(";")[1] for a in answers[:3]] == ["r=2", "r=1", "r=0"]
    assert int(answers[3].headers["Retry-After"]) >= 1
    fresh = await second.get("/whoami", headers=_clerk(order_replicas))
    assert fresh.status_code == 200


def test_an_unreachable_redis_refuses_proofs_and_lets_requests_through() -> None:
    """Without Redis a proof identifier is refused (a replay cannot be ruled out) and a
    request is let through (the counters are down, the API is not)."""
    gone = shared_redis("redis://127.0.0.1:1/0")
    assert not RedisReplayCache(gone).first_use("jti-1", until=4_102_444_800.0)
    decision = RedisTokenBuckets(gone, burst=5, rate=1.0).take(("api", "client", "user"))
    assert decision.allowed
