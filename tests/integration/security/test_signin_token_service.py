"""End-user sign-in at the embedded token service, over HTTP: PAR, PKCE S256, the sign-in form,
single-use codes with RFC 9207 ``iss``, and the claims the tokens carry."""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ledgerbridge.runtime.security import (
    ClientRecord,
    UserRecord,
    hash_secret,
    s256,
)
from ledgerbridge.runtime.security.exchange import ACCESS_TOKEN_TYPE, EXCHANGE_GRANT
from ledgerbridge.runtime.security.users import MAX_FAILED_SIGN_INS

from .conftest import ISSUER, PREFIX, SECRET, SecuredHouse

CALLBACK = "https://portal.example/signin/callback"
OTHER_CALLBACK = "https://portal.example/other/callback"
PASSWORD = "correct horse battery staple"
ACCOUNT = "001000000000042AAA"
# argon2 is slow on purpose: hash each secret once per run.
_hashed = functools.cache(hash_secret)


def _claims(token: str) -> dict[str, object]:
    segment = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def _basic(client_id: str = "pages", secret: str = SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def signin(house: SecuredHouse) -> SecuredHouse:
    """The test house with a confidential and a public page client and three users."""
    house.service.clients.register(
        ClientRecord(
            client_id="pages",
            secret_hash=_hashed(SECRET),
            scopes=frozenset(),
            audiences=frozenset({f"{PREFIX}customer-portal"}),
            redirect_uris=frozenset({CALLBACK, OTHER_CALLBACK}),
        )
    )
    house.service.clients.register(
        ClientRecord(
            client_id="spa",
            scopes=frozenset(),
            audiences=frozenset({f"{PREFIX}customer-portal"}),
            redirect_uris=frozenset({CALLBACK}),
            public=True,
        )
    )
    hashed = _hashed(PASSWORD)
    for user in (
        UserRecord("meridian", hashed, frozenset({"customer"}), account_id=ACCOUNT),
        UserRecord("ops-ada", hashed, frozenset({"operator"})),
        UserRecord("root-grace", hashed, frozenset({"administrator"})),
    ):
        house.service.users.register(user)
    return house


class Flow:
    """One sign-in, step by step, as a page client would run it."""

    def __init__(self, house: SecuredHouse, *, client: str = "pages") -> None:
        self.house = house
        self.client = client
        self.verifier = secrets.token_urlsafe(48)
        self.state = secrets.token_urlsafe(16)
        self.request_uri = ""

    def _auth(self) -> dict[str, str]:
        return _basic(self.client) if self.client != "spa" else {}

    async def push(self, **overrides: str) -> httpx.Response:
        form = {
            "response_type": "code",
            "client_id": self.client,
            "redirect_uri": CALLBACK,
            "state": self.state,
            "code_challenge": s256(self.verifier),
            "code_challenge_method": "S256",
        }
        form.update(overrides)
        answer = await self.house.http.post(
            "/auth/par", data={k: v for k, v in form.items() if v}, headers=self._auth()
        )
        if answer.status_code == 201:
            self.request_uri = answer.json()["request_uri"]
        return answer

    async def form(self) -> httpx.Response:
        params = {"client_id": self.client, "request_uri": self.request_uri}
        return await self.house.http.get("/auth/authorize", params=params)

    async def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        form = {
            "client_id": self.client,
            "request_uri": self.request_uri,
            "username": username,
            "password": password,
        }
        return await self.house.http.post("/auth/authorize", data=form)

    async def code(self, username: str) -> str:
        assert (await self.push()).status_code == 201
        assert (await self.form()).status_code == 200
        answer = await self.sign_in(username)
        assert answer.status_code == 303, answer.text
        location = urlsplit(answer.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
        query = parse_qs(location.query)
        assert query["state"] == [self.state]
        assert query["iss"] == [ISSUER]
        return query["code"][0]

    async def redeem(
        self, code: str, *, verifier: str | None = None, redirect_uri: str = CALLBACK
    ) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier or self.verifier,
        }
        if self.client == "spa":
            form["client_id"] = "spa"
        return await self.house.http.post("/auth/token", data=form, headers=self._auth())


async def test_discovery_advertises_pushed_requests_and_s256(signin: SecuredHouse) -> None:
    """The discovery document names the authorize and PAR endpoints, requires PAR, S256 only."""
    doc = (await signin.http.get("/auth/.well-known/openid-configuration")).json()
    assert doc["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert doc["pushed_authorization_request_endpoint"] == f"{ISSUER}/par"
    assert doc["require_pushed_authorization_requests"] is True
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert "authorization_code" in doc["grant_types_supported"]


async def test_a_customer_signs_in_and_gets_a_token_bound_to_its_account(
    signin: SecuredHouse,
) -> None:
    """PAR, the form, the password, the code: the token names the user, the role and the
    CRM account, in the claim the Experience APIs check."""
    flow = Flow(signin)
    code = await flow.code("meridian")
    answer = await flow.redeem(code)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    claims = _claims(answer.json()["access_token"])
    assert claims["sub"] == "meridian"
    assert claims["roles"] == ["customer"]
    assert claims["customer_id"] == ACCOUNT
    assert claims["scope"] == ""
    assert claims["aud"] == f"{PREFIX}customer-portal"
    assert ("pages", "authorization_code") in signin.issued


async def test_staff_roles_map_to_the_operations_scopes(signin: SecuredHouse) -> None:
    """An operator's token has ops:operate, an administrator's also ops:administer; neither
    is bound to a customer."""
    scopes = {}
    for user in ("ops-ada", "root-grace"):
        flow = Flow(signin)
        claims = _claims((await flow.redeem(await flow.code(user))).json()["access_token"])
        assert "customer_id" not in claims
        scopes[user] = claims["scope"]
    assert scopes == {"ops-ada": "ops:operate", "root-grace": "ops:administer ops:operate"}


async def test_the_authorize_endpoint_takes_pushed_requests_only(signin: SecuredHouse) -> None:
    """A classic front-channel request (no request_uri) gets an error page, never a form."""
    params = {
        "response_type": "code",
        "client_id": "pages",
        "redirect_uri": CALLBACK,
        "code_challenge": s256(secrets.token_urlsafe(48)),
        "code_challenge_method": "S256",
    }
    answer = await signin.http.get("/auth/authorize", params=params)
    assert answer.status_code == 400
    assert "pushed authorization requests only" in answer.text
    assert "password" not in answer.text


async def test_pkce_plain_and_missing_challenges_are_refused(signin: SecuredHouse) -> None:
    """Only S256 is accepted: plain, or no challenge at all, is refused at PAR."""
    flow = Flow(signin)
    plain = await flow.push(code_challenge=flow.verifier, code_challenge_method="plain")
    assert plain.status_code == 400
    assert "S256" in plain.json()["error_description"]
    missing = await flow.push(code_challenge="", code_challenge_method="")
    assert missing.status_code == 400


async def test_a_wrong_code_verifier_is_refused(signin: SecuredHouse) -> None:
    """The code is worthless without the verifier of the pushed challenge."""
    flow = Flow(signin)
    code = await flow.code("meridian")
    answer = await flow.redeem(code, verifier=secrets.token_urlsafe(48))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_a_replayed_code_is_refused_and_revokes_its_token(signin: SecuredHouse) -> None:
    """The second use of a code fails, and the token issued at the first can no longer be
    exchanged (RFC 6749 section 10.5)."""
    flow = Flow(signin)
    code = await flow.code("meridian")
    token = (await flow.redeem(code)).json()["access_token"]

    async def exchange() -> httpx.Response:
        form = {
            "grant_type": EXCHANGE_GRANT,
            "subject_token": token,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "audience": f"{PREFIX}order-to-cash",
            "scope": "order-to-cash:read",
        }
        return await signin.http.post("/auth/token", data=form, headers=_basic("customer-portal"))

    before = await exchange()
    assert before.status_code == 200, before.text
    assert _claims(before.json()["access_token"])["customer_id"] == ACCOUNT
    replay = await flow.redeem(code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    after = await exchange()
    assert after.status_code == 400
    assert "revoked" in after.json()["error_description"]


async def test_redirect_uri_must_match_exactly(signin: SecuredHouse) -> None:
    """PAR refuses an unregistered redirect_uri (even a prefix of a registered one), and the
    token endpoint refuses a code redeemed with another redirect_uri than was pushed."""
    flow = Flow(signin)
    for wrong in (f"{CALLBACK}/x", "https://portal.example/signin", CALLBACK.upper()):
        answer = await flow.push(redirect_uri=wrong)
        assert answer.status_code == 400, wrong
    code = await flow.code("meridian")
    answer = await flow.redeem(code, redirect_uri=OTHER_CALLBACK)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_request_uri_expires_and_is_single_use(signin: SecuredHouse) -> None:
    """A request_uri is dead 90 seconds after PAR, and once a user signed in with it."""
    late = Flow(signin)
    assert (await late.push()).status_code == 201
    signin.clock.now += 91
    assert (await late.form()).status_code == 400
    assert (await late.sign_in("meridian")).status_code == 400

    once = Flow(signin)
    await once.code("meridian")
    again = await once.form()
    assert again.status_code == 400
    assert "unknown, used or expired" in again.text


async def test_an_expired_code_is_refused(signin: SecuredHouse) -> None:
    """A code is good for 60 seconds."""
    flow = Flow(signin)
    code = await flow.code("ops-ada")
    signin.clock.now += 61
    assert (await flow.redeem(code)).status_code == 400


async def test_a_wrong_password_shows_the_form_again_and_five_spend_the_request(
    signin: SecuredHouse,
) -> None:
    """A wrong password (or an unknown user) gets the form back with 401 and no code; the
    fifth wrong one spends the pushed request."""
    flow = Flow(signin)
    assert (await flow.push()).status_code == 201
    for username in ("meridian", "nobody", "meridian", "meridian"):
        answer = await flow.sign_in(username, "wrong password")
        assert answer.status_code == 401
        assert "location" not in answer.headers
        assert "The username or password is wrong." in answer.text
        assert answer.headers["x-frame-options"] == "DENY"
    fifth = await flow.sign_in("meridian", "wrong password")
    assert fifth.status_code == 400
    assert (await flow.sign_in("meridian")).status_code == 400


async def test_ten_wrong_passwords_lock_the_username_across_fresh_requests(
    signin: SecuredHouse,
) -> None:
    """Starting over with a fresh pushed request does not reset the count: after ten wrong
    passwords for one username, even the right one is refused with 429, while another user
    still signs in; an unknown username locks the same way, so a lock betrays nobody."""
    for username in ("ops-ada", "nobody-here"):
        answers = []
        for _ in range(MAX_FAILED_SIGN_INS // 2):
            flow = Flow(signin)
            assert (await flow.push()).status_code == 201
            for _ in range(2):
                answers.append((await flow.sign_in(username, "wrong password")).status_code)
        # The wrong password that locks the username says so.
        assert answers == [401] * (MAX_FAILED_SIGN_INS - 1) + [429]
        flow = Flow(signin)
        assert (await flow.push()).status_code == 201
        locked = await flow.sign_in(username)
        assert locked.status_code == 429, locked.text
        assert "Too many wrong passwords" in locked.text
        assert "location" not in locked.headers
    assert await Flow(signin).code("root-grace")


async def test_a_public_client_redeems_with_pkce_alone_and_nothing_else(
    signin: SecuredHouse,
) -> None:
    """A public client needs no secret for its code, but gets no client-credentials token."""
    flow = Flow(signin, client="spa")
    answer = await flow.redeem(await flow.code("meridian"))
    assert answer.status_code == 200, answer.text
    refused = await signin.http.post(
        "/auth/token", data={"grant_type": "client_credentials", "client_id": "spa"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "unauthorized_client"


async def test_another_clients_request_uri_or_code_is_refused(signin: SecuredHouse) -> None:
    """A request_uri works only with the client that pushed it, and so does its code."""
    flow = Flow(signin)
    assert (await flow.push()).status_code == 201
    params = {"client_id": "spa", "request_uri": flow.request_uri}
    assert (await signin.http.get("/auth/authorize", params=params)).status_code == 400
    code = await flow.code("meridian")
    thief = Flow(signin, client="spa")
    answer = await thief.redeem(code, verifier=flow.verifier)
    assert answer.status_code == 400
    assert re.search("another client", answer.json()["error_description"])
