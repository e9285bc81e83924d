"""The embedded token service over HTTP: client authentication, DPoP binding, key rotation."""

from __future__ import annotations

import base64
import json
import uuid

import httpx

from ledgerbridge.runtime.security import ASSERTION_TYPE, DpopKey
from ledgerbridge.runtime.security._jws import sign

from .conftest import BASE, ISSUER, SECRET, TOKEN_URL, SecuredHouse

CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


def _claims(token: str) -> dict[str, object]:
    segment = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def _basic(client_id: str, secret: str = SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _assertion(house: SecuredHouse, **overrides: object) -> str:
    claims: dict[str, object] = {
        "iss": "partner-7",
        "sub": "partner-7",
        "aud": TOKEN_URL,
        "iat": int(house.clock.now),
        "exp": int(house.clock.now) + 60,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    key = overrides.pop("key", None) or house.partner_key
    header = {"alg": "ES256", "kid": house.partner_key.kid}
    return sign(header, {k: v for k, v in claims.items() if k != "key"}, key)  # type: ignore[arg-type]


async def _partner_token(house: SecuredHouse, dpop: DpopKey) -> tuple[str, str]:
    """A DPoP-bound partner token, after the nonce round trip; returns (token, nonce)."""
    form = {
        **CLIENT_CREDENTIALS,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(house),
    }
    first = await house.token(
        form, headers={"DPoP": dpop.proof("POST", TOKEN_URL, iat=house.clock.now)}
    )
    assert first.status_code == 400
    assert first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    form["client_assertion"] = _assertion(house)
    proof = dpop.proof("POST", TOKEN_URL, nonce=nonce, iat=house.clock.now)
    answer = await house.token(form, headers={"DPoP": proof})
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"
    return answer.json()["access_token"], answer.headers["DPoP-Nonce"]


class TestDiscovery:
    async def test_discovery_names_the_issuer_token_endpoint_and_jwks(
        self, house: SecuredHouse
    ) -> None:
        """The discovery document is what the resource side reads to find the keys."""
        found = (await house.http.get("/auth/.well-known/openid-configuration")).json()
        assert found["issuer"] == ISSUER
        assert found["token_endpoint"] == TOKEN_URL
        assert "private_key_jwt" in found["token_endpoint_auth_methods_supported"]
        keys = (await house.http.get("/auth/jwks")).json()["keys"]
        assert [k["kid"] for k in keys] == [house.ring.active.kid]
        assert all("d" not in k for k in keys)


class TestClientSecret:
    async def test_client_credentials_token_reads_the_api(self, house: SecuredHouse) -> None:
        """A secret-authenticated client gets a token the API accepts, found via discovery."""
        answer = await house.token(
            {**CLIENT_CREDENTIALS, "scope": "crm-orders:read"}, headers=_basic("back-office")
        )
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-store"
        body = answer.json()
        assert body["token_type"] == "Bearer"
        assert _claims(body["access_token"])["aud"] == "urn:ledgerbridge:crm-orders"
        served = await house.http.get(
            "/system/crm-orders/v1/whoami",
            headers={"Authorization": f"Bearer {body['access_token']}"},
        )
        assert served.status_code == 200
        assert house.issued == [("back-office", "client_credentials")]

    async def test_wrong_or_unknown_secret_is_invalid_client(self, house: SecuredHouse) -> None:
        """A wrong secret and an unknown client both get 401 invalid_client, alike."""
        for headers in (_basic("back-office", "wrong"), _basic("nobody")):
            answer = await house.token(CLIENT_CREDENTIALS, headers=headers)
            assert answer.status_code == 401
            assert answer.json()["error"] == "invalid_client"
        assert house.issued == []

    async def test_secret_post_works_and_two_methods_at_once_do_not(
        self, house: SecuredHouse
    ) -> None:
        """client_secret_post is accepted; mixing it with Basic is refused."""
        form = {**CLIENT_CREDENTIALS, "client_id": "back-office", "client_secret": SECRET}
        assert (await house.token(form)).status_code == 200
        assert (await house.token(form, headers=_basic("back-office"))).status_code == 401

    async def test_scopes_and_audiences_beyond_the_client_are_refused(
        self, house: SecuredHouse
    ) -> None:
        """A client cannot ask for a scope or an audience it was not registered for."""
        scope = await house.token(
            {**CLIENT_CREDENTIALS, "scope": "partner:orders"}, headers=_basic("back-office")
        )
        assert scope.json()["error"] == "invalid_scope"
        target = await house.token(
            {**CLIENT_CREDENTIALS, "audience": "urn:ledgerbridge:partner"},
            headers=_basic("back-office"),
        )
        assert target.json()["error"] == "invalid_target"


class TestPrivateKeyJwt:
    async def test_an_assertion_is_accepted_once(self, house: SecuredHouse) -> None:
        """A signed client assertion authenticates; the same assertion again is a replay."""
        dpop = DpopKey.generate()
        token, nonce = await _partner_token(house, dpop)
        assert _claims(token)["client_id"] == "partner-7"
        assertion = _assertion(house)
        form = {
            **CLIENT_CREDENTIALS,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        ok = await house.token(form, headers={"DPoP": dpop.proof("POST", TOKEN_URL, nonce=nonce)})
        assert ok.status_code == 200
        again = await house.token(
            form, headers={"DPoP": dpop.proof("POST", TOKEN_URL, nonce=nonce)}
        )
        assert again.status_code == 401
        assert "replay" in again.json()["error_description"]

    async def test_bad_assertions_are_refused(self, house: SecuredHouse) -> None:
        """Wrong audience, another key, sub different from iss, expired: all invalid_client."""
        from joserfc.jwk import ECKey

        stranger = ECKey.generate_key("P-256")
        for assertion in (
            _assertion(house, aud="https://elsewhere.example/token"),
            _assertion(house, key=stranger),
            _assertion(house, sub="someone-else"),
            _assertion(house, exp=int(house.clock.now) - 120),
        ):
            form = {
                **CLIENT_CREDENTIALS,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            }
            answer = await house.token(form)
            assert answer.status_code == 401, assertion
            assert answer.json()["error"] == "invalid_client"


class TestDpop:
    async def test_a_dpop_bound_client_needs_a_proof(self, house: SecuredHouse) -> None:
        """A client registered as DPoP-bound gets no token without a proof."""
        form = {
            **CLIENT_CREDENTIALS,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(house),
        }
        answer = await house.token(form)
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_dpop_proof"

    async def test_bound_token_is_served_with_its_key_and_refused_without(
        self, house: SecuredHouse
    ) -> None:
        """The partner API serves the bound token with a fresh proof; a thief's proof, a bearer
        use and a replayed proof are refused."""
        dpop = DpopKey.generate()
        token, nonce = await _partner_token(house, dpop)
        assert _claims(token)["cnf"] == {"jkt": dpop.jkt}
        url = f"{BASE}/experience/partner/v1/orders"

        def headers(key: DpopKey, proof: str | None = None) -> dict[str, str]:
            proof = proof or key.proof("POST", url, access_token=token, nonce=nonce)
            return {"Authorization": f"DPoP {token}", "DPoP": proof}

        good = headers(dpop)
        assert (await house.http.post(url, headers=good)).status_code == 200
        replayed = await house.http.post(url, headers=good)
        assert replayed.status_code == 401
        stolen = await house.http.post(url, headers=headers(DpopKey.generate()))
        assert stolen.status_code == 401
        bearer = await house.http.post(url, headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 401


class TestRotation:
    async def test_rotation_keeps_old_tokens_valid_until_the_old_key_retires(
        self, house: SecuredHouse
    ) -> None:
        """After a rotation both old and new tokens are served; after the grace, only new ones."""

        async def token() -> str:
            answer = await house.token(
                {**CLIENT_CREDENTIALS, "scope": "crm-orders:read"}, headers=_basic("back-office")
            )
            return str(answer.json()["access_token"])

        async def status(raw: str) -> int:
            answer = await house.http.get(
                "/system/crm-orders/v1/whoami", headers={"Authorization": f"Bearer {raw}"}
            )
            return answer.status_code

        old = await token()
        assert await status(old) == 200
        house.ring.rotate(grace=360)
        new = await token()
        assert (
            json.loads(base64.urlsafe_b64decode(new.split(".")[0] + "=="))["kid"]
            != (json.loads(base64.urlsafe_b64decode(old.split(".")[0] + "=="))["kid"])
        )
        assert await status(new) == 200
        assert await status(old) == 200
        house.clock.now += 361
        house.jwks._cache_seconds = 0  # a cache past its age fetches again
        assert await status(old) == 401
        fresh = await token()
        assert await status(fresh) == 200


async def test_unsupported_grant(house: SecuredHouse) -> None:
    """The password grant and other unknown grants are refused by name."""
    answer = await house.token({"grant_type": "password"}, headers=_basic("back-office"))
    assert answer.json()["error"] == "unsupported_grant_type"
    assert isinstance(answer, httpx.Response)
