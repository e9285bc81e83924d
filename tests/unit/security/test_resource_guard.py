"""The resource side: every API refuses what OWASP API2 lists, and serves a valid caller."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from joserfc import jws
from joserfc.jwk import ECKey, OctKey, RSAKey

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.security import (
    DpopKey,
    KeyRing,
    ResourceGuard,
    TokenIssuer,
)
from ledgerbridge.runtime.settings import AuthSettings

ISSUER = "http://ledgerbridge.internal/auth"
NOW = 1_800_000_000.0
API = ApiMetadata(
    name="crm-accounts",
    layer=Layer.SYSTEM,
    version=1,
    owner="crm-team",
    summary="Accounts.",
    scopes=("crm-accounts:read", "crm-accounts:write"),
)
PARTNER = ApiMetadata(
    name="partner",
    layer=Layer.EXPERIENCE,
    version=1,
    owner="b2b",
    summary="Partners.",
    scopes=("partner:orders",),
)
AUDIENCE = "urn:ledgerbridge:crm-accounts"


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/accounts/{account_id}")
    async def read(account_id: str) -> dict[str, str]:
        return {"id": account_id}

    @router.post("/accounts")
    async def write() -> dict[str, str]:
        return {"id": "new"}

    return router


class World:
    """Keys, an issuer and the guarded apps, all on one fixed clock."""

    def __init__(self) -> None:
        self.now = NOW
        self.ring = KeyRing(clock=self.clock)
        self.issuer = TokenIssuer(ISSUER, self.ring, lifetime=300, clock=self.clock)
        self.guard = ResourceGuard.from_settings(
            AuthSettings(issuer=ISSUER), keys=self.ring, clock=self.clock
        )
        self.accounts = build_api(API, routers=[_router()], guard=self.guard)
        self.partner = build_api(PARTNER, routers=[_router()], guard=self.guard)

    def clock(self) -> float:
        return self.now

    def token(self, **overrides: object) -> str:
        minted = self.issuer.issue(
            subject="client-a",
            client_id="client-a",
            audience=str(overrides.pop("audience", AUDIENCE)),
            scopes=overrides.pop("scopes", {"crm-accounts:read"}),  # type: ignore[arg-type]
            jkt=overrides.pop("jkt", None),  # type: ignore[arg-type]
        )
        return minted.token


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.accounts)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        yield http


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**overrides: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": "client-a",
        "aud": AUDIENCE,
        "scope": "crm-accounts:read",
        "iat": int(NOW),
        "exp": int(NOW) + 300,
    }
    claims.update(overrides)
    return claims


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refused(client: httpx.AsyncClient, token: str, *, status: int = 401) -> str:
    answer = await client.get("/accounts/1", headers=_bearer(token))
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert "WWW-Authenticate" in answer.headers
    return str(answer.json()["detail"])


class TestValidCaller:
    async def test_a_valid_token_with_the_read_scope_reads(
        self, world: World, client: httpx.AsyncClient
    ) -> None:
        """A token for this audience with the read scope is served."""
        answer = await client.get("/accounts/7", headers=_bearer(world.token()))
        assert answer.status_code == 200
        assert answer.json() == {"id": "7"}

    async def test_no_token_is_a_401_challenge_without_error_code(
        self, client: httpx.AsyncClient
    ) -> None:
        """A request without credentials gets 401 with a bare Bearer challenge (RFC 6750 3.1)."""
        answer = await client.get("/accounts/7")
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="ledgerbridge"'
        assert answer.json()["status"] == 401

    async def test_probes_stay_open(self, client: httpx.AsyncClient) -> None:
        """Health probes and the contract answer without a token."""
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 200

    async def test_a_read_token_cannot_write(self, world: World, client: httpx.AsyncClient) -> None:
        """A write needs the :write scope: 403 insufficient_scope naming it."""
        answer = await client.post("/accounts", headers=_bearer(world.token()))
        assert answer.status_code == 403
        challenge = answer.headers["WWW-Authenticate"]
        assert 'error="insufficient_scope"' in challenge
        assert 'scope="crm-accounts:write"' in challenge
        writer = world.token(scopes={"crm-accounts:write"})
        assert (await client.post("/accounts", headers=_bearer(writer))).status_code == 200


class TestBrokenAuthentication:
    """OWASP API2: forged, misdirected and stale tokens are refused."""

    async def test_alg_none_is_refused(self, client: httpx.AsyncClient) -> None:
        """An unsigned token (alg none) is refused before any key is looked at."""
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
        assert "algorithm 'none'" in await _refused(client, token)

    async def test_hmac_signed_with_the_public_key_is_refused(
        self, world: World, client: httpx.AsyncClient
    ) -> None:
        """Key confusion: HS256 keyed with the issuer's published public key is refused."""
        public = world.ring.jwks()["keys"][0]
        secret = OctKey.import_key(json.dumps(public).encode())
        header = {"alg": "HS256", "typ": "JWT", "kid": public["kid"]}
        token = jws.serialize_compact(header, json.dumps(_claims()), secret, algorithms=["HS256"])
        assert "HS256" in await _refused(client, token)

    async def test_rs256_is_refused_unless_configured(self, client: httpx.AsyncClient) -> None:
        """RS256 is off the default allow-list, even with a valid-looking signature."""
        key = RSAKey.generate_key(2048, auto_kid=True)
        header = {"alg": "RS256", "kid": key.kid}
        token = jws.serialize_compact(header, json.dumps(_claims()), key, algorithms=["RS256"])
        assert "RS256" in await _refused(client, token)

    async def test_a_foreign_key_with_a_known_kid_is_refused(
        self, world: World, client: httpx.AsyncClient
    ) -> None:
        """A token signed by another key under the issuer's kid fails the signature check."""
        forger = ECKey.generate_key("P-256")
        header = {"alg": "ES256", "kid": world.ring.active.kid}
        token = jws.serialize_compact(header, json.dumps(_claims()), forger, algorithms=["ES256"])
        assert "signature" in await _refused(client, token)

    async def test_a_token_carrying_its_own_key_is_refused(self, client: httpx.AsyncClient) -> None:
        """A token that embeds its verification key (jwk header) is never trusted."""
        forger = ECKey.generate_key("P-256", auto_kid=True)
        header = {"alg": "ES256", "kid": forger.kid, "jwk": forger.as_dict(private=False)}
        token = jws.serialize_compact(header, json.dumps(_claims()), forger, algorithms=["ES256"])
        assert "own key" in await _refused(client, token)

    async def test_wrong_audience_is_refused(self, world: World, client: httpx.AsyncClient) -> None:
        """A token for another API is refused here."""
        token = world.token(audience="urn:ledgerbridge:erp-customers")
        assert "audience" in await _refused(client, token)

    async def test_wrong_issuer_is_refused(self, world: World, client: httpx.AsyncClient) -> None:
        """A token signed with the right key but naming another issuer is refused."""
        key = world.ring.active
        header = {"alg": "ES256", "kid": key.kid}
        claims = _claims(iss="https://evil.example")
        token = jws.serialize_compact(header, json.dumps(claims), key, algorithms=["ES256"])
        assert "issuer" in await _refused(client, token)

    async def test_expired_beyond_the_skew_is_refused(
        self, world: World, client: httpx.AsyncClient
    ) -> None:
        """A token expired 61 s ago is refused; 59 s ago is within the allowed skew."""
        token = world.token()
        world.now = NOW + 300 + 59
        assert (await client.get("/accounts/1", headers=_bearer(token))).status_code == 200
        world.now = NOW + 300 + 61
        assert "expired" in await _refused(client, token)

    async def test_not_yet_valid_is_refused(self, world: World, client: httpx.AsyncClient) -> None:
        """A token whose nbf and iat lie more than 60 s ahead is refused."""
        world.now = NOW + 120
        token = world.token()
        world.now = NOW
        assert "not valid yet" in await _refused(client, token)

    async def test_a_token_without_exp_is_refused(
        self, world: World, client: httpx.AsyncClient
    ) -> None:
        """exp is required."""
        key = world.ring.active
        claims = _claims()
        del claims["exp"]
        token = jws.serialize_compact(
            {"alg": "ES256", "kid": key.kid}, json.dumps(claims), key, algorithms=["ES256"]
        )
        assert "exp" in await _refused(client, token)

    async def test_a_dpop_proof_is_not_an_access_token(
        self, world: World, client: httpx.AsyncClient
    ) -> None:
        """A JWT typed dpop+jwt is refused as an access token even if otherwise valid."""
        key = world.ring.active
        header = {"alg": "ES256", "kid": key.kid, "typ": "dpop+jwt"}
        token = jws.serialize_compact(header, json.dumps(_claims()), key, algorithms=["ES256"])
        assert "not an access token" in await _refused(client, token)

    async def test_garbage_is_refused(self, client: httpx.AsyncClient) -> None:
        """A token that is not a JWS at all gets 401, never a 500."""
        assert "compact JWS" in await _refused(client, "not-a-token")


class TestDpopAtTheResource:
    """RFC 9449 at the resource: a bound token needs a proof by its key, once."""

    async def _partner(self, world: World) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=world.partner)
        return httpx.AsyncClient(transport=transport, base_url="https://partner.test")

    async def test_a_bound_token_with_a_fresh_proof_is_served_once(self, world: World) -> None:
        """A bound token with a nonce-bearing proof is served; the same proof replayed is not."""
        key = DpopKey.generate()
        token = world.token(
            audience="urn:ledgerbridge:partner", scopes={"partner:orders"}, jkt=key.jkt
        )
        url = "https://partner.test/accounts/1"
        async with await self._partner(world) as http:
            first = key.proof("GET", url, access_token=token, iat=world.now)
            asked = await http.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": first})
            assert asked.status_code == 401
            assert 'error="use_dpop_nonce"' in asked.headers["WWW-Authenticate"]
            nonce = asked.headers["DPoP-Nonce"]
            proof = key.proof("GET", url, access_token=token, nonce=nonce, iat=world.now)
            headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
            assert (await http.get(url, headers=headers)).status_code == 200
            replayed = await http.get(url, headers=headers)
            assert replayed.status_code == 401
            assert "replay" in replayed.json()["detail"]

    async def test_a_stolen_bound_token_without_its_key_is_refused(self, world: World) -> None:
        """A thief's own DPoP key does not match cnf.jkt; as a bearer token it is refused too."""
        owner, thief = DpopKey.generate(), DpopKey.generate()
        token = world.token(
            audience="urn:ledgerbridge:partner", scopes={"partner:orders"}, jkt=owner.jkt
        )
        url = "https://partner.test/accounts/1"
        nonce = world.guard.dpop.nonces.current() if world.guard.dpop.nonces else None
        async with await self._partner(world) as http:
            proof = thief.proof("GET", url, access_token=token, nonce=nonce, iat=world.now)
            stolen = await http.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
            assert stolen.status_code == 401
            assert "another key" in stolen.json()["detail"]
            bearer = await http.get(url, headers=_bearer(token))
            assert bearer.status_code == 401

    async def test_a_proof_for_another_url_or_method_is_refused(self, world: World) -> None:
        """htu and htm must match the request."""
        key = DpopKey.generate()
        token = world.token(
            audience="urn:ledgerbridge:partner", scopes={"partner:orders"}, jkt=key.jkt
        )
        url = "https://partner.test/accounts/1"
        assert world.guard.dpop.nonces is not None
        nonce = world.guard.dpop.nonces.current()
        async with await self._partner(world) as http:
            for method, target in (("GET", "https://partner.test/accounts/2"), ("POST", url)):
                proof = key.proof(method, target, access_token=token, nonce=nonce, iat=world.now)
                answer = await http.get(
                    url, headers={"Authorization": f"DPoP {token}", "DPoP": proof}
                )
                assert answer.status_code == 401
                assert "another" in answer.json()["detail"]

    async def test_an_old_proof_is_refused(self, world: World) -> None:
        """A proof issued more than the allowed window ago is refused."""
        key = DpopKey.generate()
        token = world.token(
            audience="urn:ledgerbridge:partner", scopes={"partner:orders"}, jkt=key.jkt
        )
        url = "https://partner.test/accounts/1"
        assert world.guard.dpop.nonces is not None
        nonce = world.guard.dpop.nonces.current()
        async with await self._partner(world) as http:
            proof = key.proof("GET", url, access_token=token, nonce=nonce, iat=world.now - 120)
            answer = await http.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
            assert answer.status_code == 401
            assert "too old" in answer.json()["detail"]

    async def test_the_partner_api_refuses_bearer_tokens(self, world: World) -> None:
        """An unbound token is refused by an API that requires DPoP, with a DPoP challenge."""
        token = world.token(audience="urn:ledgerbridge:partner", scopes={"partner:orders"})
        async with await self._partner(world) as http:
            answer = await http.get("/accounts/1", headers=_bearer(token))
            assert answer.status_code == 401
            assert answer.headers["WWW-Authenticate"].startswith("DPoP ")
