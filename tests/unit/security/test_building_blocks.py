"""The pieces under the guard and the token service: allow-list, scopes, keys, nonces, replay,
masking."""

from __future__ import annotations

import httpx
import pytest
from joserfc.jwk import OKPKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ledgerbridge.runtime.audit import mask_personal, mask_text
from ledgerbridge.runtime.security import (
    InvalidToken,
    JwksCache,
    KeyRing,
    NonceSource,
    ReplayCache,
    TokenIssuer,
    TokenValidator,
    algorithm_allow_list,
    called_api,
    operation_scopes,
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_allow_list_drops_weak_algorithms_and_adds_rs256_only_when_asked() -> None:
    """none and HS256 never make the list, whatever is configured; RS256 only on request."""
    configured = ("PS256", "ES256", "EdDSA", "HS256", "none", "RS256")
    assert algorithm_allow_list(configured, allow_rs256=False) == {
        "PS256",
        "ES256",
        "EdDSA",
        "Ed25519",
    }
    assert "RS256" in algorithm_allow_list(("ES256",), allow_rs256=True)


@pytest.mark.parametrize(
    ("method", "expected"),
    [("GET", ("a:read",)), ("HEAD", ("a:read",)), ("POST", ("a:write",)), ("DELETE", ("a:write",))],
)
def test_operation_scopes_split_read_and_write(method: str, expected: tuple[str, ...]) -> None:
    """Safe methods need the read scope, the others the write scope."""
    assert operation_scopes(("a:read", "a:write"), method) == expected


def test_an_api_without_read_write_split_asks_for_any_declared_scope() -> None:
    """An API declaring one scope of its own kind asks for it on every method."""
    assert operation_scopes(("partner:orders",), "POST") == ("partner:orders",)
    assert operation_scopes((), "GET") == ()


def test_called_api_reads_the_layer_path() -> None:
    """The API name is the second segment of a layer path; other paths name none."""
    assert called_api("/system/crm-orders/v1/orders/1") == "crm-orders"
    assert called_api("/auth/token") is None


async def test_rotation_publishes_old_keys_until_they_retire() -> None:
    """After rotate(grace=60), the old key is published for 60 s, then only the new one."""
    clock = Clock()
    ring = KeyRing(clock=clock)
    old = ring.active
    new = ring.rotate(grace=60)
    assert ring.active is new
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid, old.kid]
    assert await ring.key(old.kid) is old
    clock.now += 61
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid]
    with pytest.raises(InvalidToken):
        await ring.key(old.kid)


def test_nonces_last_two_windows() -> None:
    """A nonce is accepted in its window and the next, not after; a foreign one never."""
    clock = Clock()
    nonces = NonceSource(b"k" * 32, window=100, clock=clock)
    nonce = nonces.current()
    clock.now += 100
    assert nonces.accepts(nonce)
    clock.now += 100
    assert not nonces.accepts(nonce)
    assert not NonceSource(b"j" * 32, clock=clock).accepts(nonces.current())


def test_replay_cache_forgets_after_expiry() -> None:
    """An identifier is refused until its expiry and accepted again afterwards."""
    clock = Clock()
    cache = ReplayCache(clock=clock)
    assert cache.first_use("a", until=clock.now + 10)
    assert not cache.first_use("a", until=clock.now + 10)
    clock.now += 11
    assert cache.first_use("a", until=clock.now + 10)


def test_a_full_replay_cache_refuses_rather_than_forgets() -> None:
    """When full, the cache refuses new identifiers instead of letting replays through."""
    cache = ReplayCache(clock=Clock(), max_entries=1)
    assert cache.first_use("a", until=2e9)
    assert not cache.first_use("b", until=2e9)


def _issuer_app(config: dict[str, object], keys: list[dict[str, object]]) -> Starlette:
    async def discovery(_: Request) -> JSONResponse:
        return JSONResponse(config)

    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse({"keys": keys})

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
        ]
    )


async def test_jwks_cache_skips_symmetric_and_private_keys() -> None:
    """An oct key or a private key in a JWKS is ignored, so it can never verify a token."""
    ring = KeyRing()
    good = ring.jwks()["keys"][0]
    oct_key = {"kty": "oct", "k": "c2VjcmV0", "kid": "shared"}
    app = _issuer_app(
        {"issuer": "https://idp.test", "jwks_uri": "https://idp.test/jwks"}, [good, oct_key]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        cache = JwksCache("https://idp.test", http)
        assert (await cache.key(str(good["kid"]))).kid == good["kid"]
        with pytest.raises(InvalidToken):
            await cache.key("shared")


async def test_jwks_cache_refuses_a_discovery_document_of_another_issuer() -> None:
    """Discovery naming a different issuer is a misconfiguration or an attack: no keys."""
    app = _issuer_app({"issuer": "https://evil.test", "jwks_uri": "https://idp.test/jwks"}, [])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        with pytest.raises(InvalidToken, match="another issuer"):
            await JwksCache("https://idp.test", http).key("any")


def test_masking_covers_names_emails_tax_ids_and_bank_details() -> None:
    """Personal fields are masked by name at any depth; emails and IBANs inside text too."""
    masked = mask_personal(
        {
            "customer": {"firstName": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
            "payments": [{"iban": "DE89370400440532013000", "amount": "12.50"}],
            "taxId": "DE123456789",
            "note": "call ada@example.com about DE89 3704 0044 0532 0130 00",
            "order_id": "O-1",
        }
    )
    assert masked == {
        "customer": {"firstName": "A***", "last_name": "L***", "email": "a***@example.com"},
        "payments": [{"iban": "****3000", "amount": "12.50"}],
        "taxId": "****6789",
        "note": "call a***@example.com about ****3000",
        "order_id": "O-1",
    }
    assert mask_text("no personal data here") == "no personal data here"


@pytest.mark.parametrize("key_type", ["EdDSA", "PS256"])
async def test_tokens_signed_with_eddsa_and_ps256_validate(key_type: str) -> None:
    """The token service may sign with Ed25519 or RSA-PSS keys; the validator accepts both."""
    key = (
        OKPKey.generate_key("Ed25519", auto_kid=True)
        if key_type == "EdDSA"
        else RSAKey.generate_key(2048, parameters={"alg": "PS256"}, auto_kid=True)
    )
    ring = KeyRing([key])
    issuer = TokenIssuer("https://idp.test", ring)
    minted = issuer.issue(subject="s", client_id="c", audience="a", scopes={"x:read"})
    validator = TokenValidator(
        "https://idp.test", ring, algorithms=algorithm_allow_list((key_type,), allow_rs256=False)
    )
    token = await validator.validate(minted.token, audience="a")
    assert token.scopes == {"x:read"}


async def test_a_token_checked_before_fails_once_its_key_retires() -> None:
    """The validator reuses a verified signature only while the key is still published."""
    clock = Clock()
    ring = KeyRing(clock=clock)
    minted = TokenIssuer("https://idp.test", ring, lifetime=600, clock=clock).issue(
        subject="s", client_id="c", audience="a", scopes={"x:read"}
    )
    validator = TokenValidator("https://idp.test", ring, algorithms={"ES256"}, clock=clock)
    assert (await validator.validate(minted.token, audience="a")).subject == "s"
    ring.rotate(grace=30)
    clock.now += 31
    with pytest.raises(InvalidToken, match="no published key"):
        await validator.validate(minted.token, audience="a")
