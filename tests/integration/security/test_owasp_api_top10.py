"""The OWASP API Security Top 10 (2023), attack by attack, against the reference house with
authentication on, over the CRM and ERP sandboxes.

One house serves the whole module; each test makes its own records and callers, so the
request budgets and velocity rules of one test do not spend another's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from fastapi.routing import APIRoute
from joserfc.jwk import ECKey, RSAKey
from starlette.routing import Mount
from tests.e2e.test_order_to_cash import _crm_order

from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.partner.views import ORDERS_PER_MINUTE
from ledgerbridge.apis.experience.partner.views import create_app as create_partner_app
from ledgerbridge.connectors.s4hana import odata_literal
from ledgerbridge.runtime.security import DpopKey, KeyRing, TokenIssuer
from ledgerbridge.runtime.security._jws import sign
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.runtime.store import Store
from ledgerbridge.sandboxes.crm.pushdown import fold

from .reference import BASE, ISSUER, PREFIX, Reference, reference_house

pytestmark = pytest.mark.asyncio(loop_scope="module")

O2C = "/process/order-to-cash/v1"
PORTAL = "/experience/customer-portal/v1"
PORTAL_V2 = "/experience/customer-portal/v2"
MOBILE = "/experience/mobile/v1"
PARTNER = "/experience/partner/v1"
PROBLEM = "application/problem+json"
DEAD_LETTERS = "/process/dead-letters/v1"
ERP = "/system/backend-health/v1/erp"
CUT_OVER = f"{ERP}/cut-over"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ref(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Reference]:
    async with reference_house(tmp_path_factory.mktemp("owasp")) as running:
        yield running


async def _started_order(ref: Reference) -> dict[str, str]:
    """A CRM order of a new account, taken through order-to-cash by the back office."""
    ids = await _crm_order(ref)  # type: ignore[arg-type]
    token = await ref.client_token("back-office", "order-to-cash:write")
    started = await ref.http.post(
        f"{O2C}/orders",
        json={"crm_order_id": ids["order"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert started.status_code == 201, started.text
    return ids


def _customer(ref: Reference, account: str, api: str = "customer-portal") -> dict[str, str]:
    scope = "mobile:read" if api == "mobile" else "customer-portal:read"
    return ref.bearer(api, {scope}, subject=f"user-{account}", customer_id=account)


def _segment(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(audience: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "clerk-1",
        "aud": audience,
        "client_id": "sign-in",
        "scope": "order-to-cash:read",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def _o2c_read(ref: Reference, token: str, scheme: str = "Bearer") -> httpx.Response:
    return await ref.http.get(f"{O2C}/orders", headers={"Authorization": f"{scheme} {token}"})


async def _partner_read(ref: Reference) -> tuple[str, DpopKey, str, str]:
    """partner-7's token and key, the URL of an order read, and the nonce the API asks for."""
    token = await ref.partner_token("partner-7")
    key = ref.partner_keys["partner-7"]
    url = f"{BASE}{PARTNER}/orders/801000000000001AAA"
    proof = key.proof("GET", url, access_token=token)
    challenge = await ref.http.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    return token, key, url, challenge.headers["DPoP-Nonce"]


class TestAPI1BrokenObjectLevelAuthorization:
    async def test_a_customer_cannot_read_another_customers_order_status(
        self, ref: Reference
    ) -> None:
        """Customer A asking for customer B's order gets 404, as for an order that does not
        exist; B gets it."""
        mine, theirs = await _started_order(ref), await _started_order(ref)
        url = f"{PORTAL}/orders/{theirs['order']}/status"
        stolen = await ref.http.get(url, headers=_customer(ref, mine["account"]))
        assert stolen.status_code == 404
        assert theirs["order"] not in stolen.text or "no order" in stolen.json()["detail"]
        own = await ref.http.get(url, headers=_customer(ref, theirs["account"]))
        assert own.status_code == 200, own.text

    async def test_a_customer_cannot_name_another_customer_in_the_header(
        self, ref: Reference
    ) -> None:
        """The X-Customer-Id header must match the token's customer_id claim: 403 otherwise."""
        mine, theirs = await _started_order(ref), await _started_order(ref)
        headers = _customer(ref, mine["account"]) | {"X-Customer-Id": theirs["account"]}
        answer = await ref.http.get(f"{PORTAL}/orders", headers=headers)
        assert answer.status_code == 403
        assert answer.headers["content-type"] == PROBLEM

    async def test_the_order_list_holds_only_the_callers_orders(self, ref: Reference) -> None:
        """Without a header, the list is the token's customer's: their order, nobody else's."""
        mine, theirs = await _started_order(ref), await _started_order(ref)
        answer = await ref.http.get(f"{PORTAL}/orders", headers=_customer(ref, mine["account"]))
        assert answer.status_code == 200, answer.text
        listed = {item["order_id"] for item in answer.json()["items"]}
        assert mine["order"] in listed
        assert theirs["order"] not in listed

    async def test_portal_v2_and_mobile_hold_the_customer_to_their_own_objects(
        self, ref: Reference
    ) -> None:
        """The same check on portal v2 and on the mobile API's order, invoices and payments."""
        mine, theirs = await _started_order(ref), await _started_order(ref)
        v2 = await ref.http.get(
            f"{PORTAL_V2}/orders/{theirs['order']}", headers=_customer(ref, mine["account"])
        )
        assert v2.status_code == 404
        mobile = _customer(ref, mine["account"], api="mobile")
        for path in (
            f"{MOBILE}/orders/{theirs['order']}",
            f"{MOBILE}/customers/{theirs['account']}/invoices",
            f"{MOBILE}/customers/{theirs['account']}/payments",
        ):
            assert (await ref.http.get(path, headers=mobile)).status_code == 404, path
        own = await ref.http.get(f"{MOBILE}/orders/{mine['order']}", headers=mobile)
        assert own.status_code == 200, own.text

    async def test_a_partner_cannot_act_as_another_partner(self, ref: Reference) -> None:
        """partner-7's token naming partner-8 in X-Partner-Id is refused with 403."""
        answer = await ref.as_partner(
            "partner-7",
            "GET",
            f"{PARTNER}/orders/801000000000001AAA",
            headers={"X-Partner-Id": "partner-8"},
        )
        assert answer.status_code == 403
        own = await ref.as_partner("partner-7", "GET", f"{PARTNER}/orders/801000000000001AAA")
        assert own.status_code == 404  # authorised, and the order is simply not theirs

    async def test_the_partner_is_named_by_its_token_not_a_required_header(
        self, ref: Reference, tmp_path: Path
    ) -> None:
        """The partner contract marks X-Partner-Id optional (the token names the partner);
        without authentication a call naming no partner is a 422 naming the header."""
        partner_app = next(app for base, app in _fastapi_apps(ref.house.app) if base == PARTNER)
        named = [
            parameter
            for operation in (
                op for item in partner_app.openapi()["paths"].values() for op in item.values()
            )
            for parameter in operation.get("parameters", [])
            if parameter["name"] == "X-Partner-Id"
        ]
        assert len(named) == 4
        assert not any(parameter["required"] for parameter in named)
        store = Store(f"sqlite+aiosqlite:///{tmp_path / 'partner.sqlite3'}")
        nowhere = httpx.AsyncClient(base_url="http://127.0.0.1:9")
        app = create_partner_app(ExperienceDeps(process=nowhere, system=nowhere, store=store))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://partner"
        ) as anonymous:
            answer = await anonymous.get("/orders/801000000000001AAA")
        await nowhere.aclose()
        await store.dispose()
        assert answer.status_code == 422
        assert answer.headers["content-type"] == PROBLEM
        assert [e["field"] for e in answer.json()["errors"]] == ["X-Partner-Id"]


class TestAPI2BrokenAuthentication:
    async def test_alg_none_is_refused(self, ref: Reference) -> None:
        """An unsigned token (alg none) is a 401, whatever its claims say."""
        header = _segment({"alg": "none", "typ": "at+jwt"})
        token = f"{header}.{_segment(_claims(f'{PREFIX}order-to-cash'))}."
        answer = await _o2c_read(ref, token)
        assert answer.status_code == 401
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]

    async def test_key_confusion_hmac_with_the_public_key_is_refused(self, ref: Reference) -> None:
        """A token 'signed' with HS256 using the issuer's public key as secret is a 401."""
        jwks = (await ref.http.get("/auth/jwks")).json()
        public = json.dumps(jwks["keys"][0], separators=(",", ":")).encode()
        signing_input = (
            f"{_segment({'alg': 'HS256', 'typ': 'at+jwt', 'kid': jwks['keys'][0]['kid']})}."
            f"{_segment(_claims(f'{PREFIX}order-to-cash'))}"
        )
        signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
        assert (await _o2c_read(ref, token)).status_code == 401

    async def test_a_token_signed_by_another_key_is_refused(self, ref: Reference) -> None:
        """A well-formed token from a key the issuer does not publish is a 401."""
        forged = TokenIssuer(ISSUER, KeyRing([ECKey.generate_key("P-256", auto_kid=True)]))
        token = forged.issue(
            subject="x",
            client_id="x",
            audience=f"{PREFIX}order-to-cash",
            scopes={"order-to-cash:read"},
        ).token
        assert (await _o2c_read(ref, token)).status_code == 401

    async def test_weak_rsa_and_rs256_are_refused(self, ref: Reference) -> None:
        """RS256 is off unless configured, so a token signed RS256 is a 401."""
        rsa = RSAKey.generate_key(2048, parameters={"alg": "RS256"}, auto_kid=True)
        ring = KeyRing([rsa])
        token = (
            TokenIssuer(ISSUER, ring)
            .issue(
                subject="x",
                client_id="x",
                audience=f"{PREFIX}order-to-cash",
                scopes={"order-to-cash:read"},
            )
            .token
        )
        assert (await _o2c_read(ref, token)).status_code == 401

    async def test_a_token_for_another_api_is_refused(self, ref: Reference) -> None:
        """A valid token whose audience is another API is a 401 (wrong audience)."""
        token = ref.user("crm-accounts", {"order-to-cash:read"})
        answer = await _o2c_read(ref, token)
        assert answer.status_code == 401
        assert "audience" in answer.json()["detail"]

    async def test_expired_and_not_yet_valid_tokens_are_refused(self, ref: Reference) -> None:
        """exp in the past or nbf in the future, beyond the 60 s skew, are 401s."""
        now = int(time.time())
        for changes in (
            {"iat": now - 900, "nbf": now - 900, "exp": now - 120},
            {"nbf": now + 300, "exp": now + 900},
        ):
            claims = _claims(f"{PREFIX}order-to-cash", **changes)
            # Re-sign with the changed times, by the real key: only the times are wrong.
            key = ref.users.keys.active
            header = {"typ": "at+jwt", "alg": "ES256", "kid": key.kid}
            token = sign(header, claims, key)
            answer = await _o2c_read(ref, token)
            assert answer.status_code == 401, changes
            assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]

    async def test_a_stolen_dpop_token_without_its_key_is_refused(self, ref: Reference) -> None:
        """A partner's bound token replayed by a thief with another key, or as a Bearer
        token, is a 401."""
        token = await ref.partner_token("partner-7")
        path = f"{PARTNER}/orders/801000000000001AAA"
        thief = await ref.partner_call("GET", path, token, key=DpopKey.generate())
        assert thief.status_code == 401
        bearer = await ref.http.get(path, headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 401

    async def test_a_replayed_dpop_proof_is_refused(self, ref: Reference) -> None:
        """The same proof sent twice: the second time is a 401 (jti replay)."""
        token, key, url, nonce = await _partner_read(ref)
        proof = key.proof("GET", url, access_token=token, nonce=nonce)
        headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
        first = await ref.http.get(url, headers=headers)
        assert first.status_code == 404  # through the guard: no such order
        again = await ref.http.get(url, headers=headers)
        assert again.status_code == 401
        assert "DPoP" in again.headers["WWW-Authenticate"]

    async def test_a_proof_for_another_url_or_method_is_refused(self, ref: Reference) -> None:
        """A proof whose htu or htm is not this request's is a 401."""
        token, key, url, nonce = await _partner_read(ref)
        for method, proof_url in (("GET", f"{BASE}{PARTNER}/webhook"), ("POST", url)):
            proof = key.proof(method, proof_url, access_token=token, nonce=nonce)
            answer = await ref.http.get(
                url, headers={"Authorization": f"DPoP {token}", "DPoP": proof}
            )
            assert answer.status_code == 401, (method, proof_url)


class TestAPI3BrokenObjectPropertyLevelAuthorization:
    async def test_a_case_status_cannot_be_written_with_the_order(self, ref: Reference) -> None:
        """Starting an order with a status (read-only, set by the saga) is a 422 naming it."""
        ids = await _crm_order(ref)  # type: ignore[arg-type]
        token = await ref.client_token("back-office", "order-to-cash:write")
        for extra in ({"status": "paid"}, {"erp_order_number": "1"}, {"customer_crm_id": "x"}):
            answer = await ref.http.post(
                f"{O2C}/orders",
                json={"crm_order_id": ids["order"], **extra},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 422, extra
            assert next(iter(extra)) in [e["field"] for e in answer.json()["errors"]]

    async def test_a_partner_cannot_choose_its_signing_secret(self, ref: Reference) -> None:
        """The webhook signing secret is the server's to choose: sending one is a 422."""
        answer = await ref.as_partner(
            "partner-7",
            "PUT",
            f"{PARTNER}/webhook",
            json={"callback_url": "https://hooks.partner.example/l", "signing_secret": "mine"},
        )
        assert answer.status_code == 422
        assert "signing_secret" in [e["field"] for e in answer.json()["errors"]]

    async def test_a_read_only_caller_gets_no_write_below(self, ref: Reference) -> None:
        """A customer's read-only token never becomes a write token on the hop below:
        the exchange refuses a :write scope to a caller holding only :read ones."""
        answer = await ref.http.post(
            "/auth/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "client_id": "back-office",
                "client_secret": "reference-secret-for-tests-only",
                "subject_token": ref.user("order-to-cash", {"order-to-cash:read"}),
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "audience": f"{PREFIX}crm-accounts",
                "scope": "crm-accounts:write",
            },
        )
        assert answer.status_code == 400


class TestAPI4UnrestrictedResourceConsumption:
    async def test_an_oversize_body_is_refused_with_413(self, ref: Reference) -> None:
        """A body past the limit is a 413 problem, with or without Content-Length."""
        token = await ref.client_token("back-office", "order-to-cash:write")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        big = b'{"crm_order_id": "' + b"A" * (ref.settings.auth.max_body_bytes + 1) + b'"}'
        declared = await ref.http.post(f"{O2C}/orders", content=big, headers=headers)
        assert declared.status_code == 413
        assert declared.headers["content-type"] == PROBLEM

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(big), 65_536):
                yield big[start : start + 65_536]

        streamed = await ref.http.post(f"{O2C}/orders", content=chunks(), headers=headers)
        assert streamed.status_code == 413

    async def test_no_body_is_read_before_the_caller_is_checked(self, ref: Reference) -> None:
        """Without a token, a JSON body the body checks would refuse (a lone surrogate) gets
        the 401: nothing reads a stranger's body."""
        body = b'{"crm_order_id": "\\udb57"}'
        answer = await ref.http.post(
            f"{O2C}/orders", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 401

    async def test_a_huge_page_size_is_refused(self, ref: Reference) -> None:
        """limit beyond the API's maximum is a 422 naming it, on Process and Experience."""
        token = await ref.client_token("back-office", "order-to-cash:read")
        answer = await ref.http.get(
            f"{O2C}/orders",
            params={"limit": 1_000_000},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 422
        assert "limit" in [e["field"] for e in answer.json()["errors"]]
        ids = await _started_order(ref)
        mobile = await ref.http.get(
            f"{MOBILE}/customers/{ids['account']}/invoices",
            params={"limit": 10_000},
            headers=_customer(ref, ids["account"], api="mobile"),
        )
        assert mobile.status_code == 422

    async def test_a_burst_beyond_the_budget_gets_429_with_retry_after(
        self, tmp_path: Path
    ) -> None:
        """One caller's burst past its budget is refused with 429, Retry-After and the
        RateLimit headers; another caller keeps its own budget."""
        # A budget that does not refill while the test runs, so the outcome is not a race.
        slow = {"rate_limit_burst": 5, "rate_limit_per_second": 0.001}
        async with reference_house(tmp_path, auth_options=slow) as ref:
            headers = ref.bearer("order-to-cash", {"order-to-cash:read"}, subject="burst-1")
            answers = [
                await ref.http.get(f"{O2C}/orders", params={"limit": 1}, headers=headers)
                for _ in range(6)
            ]
            assert [a.status_code for a in answers] == [200] * 5 + [429]
            assert answers[0].headers["RateLimit-Policy"] == '"order-to-cash";q=5;w=5000'
            assert answers[0].headers["RateLimit"].startswith('"order-to-cash";r=4;')
            refused = answers[-1]
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.headers["content-type"] == PROBLEM
            other = ref.bearer("order-to-cash", {"order-to-cash:read"}, subject="burst-2")
            fresh = await ref.http.get(f"{O2C}/orders", params={"limit": 1}, headers=other)
            assert fresh.status_code == 200


class TestAPI5BrokenFunctionLevelAuthorization:
    async def test_a_reader_cannot_decide_reviews_or_cancel_orders(self, ref: Reference) -> None:
        """The review decisions and the cancellation need a write scope: 403 for a reader."""
        headers = ref.bearer("order-to-cash", {"order-to-cash:read"}, subject="reader-1")
        review = "00000000-0000-0000-0000-000000000000"
        for path in (
            f"{O2C}/reviews/{review}/approval",
            f"{O2C}/reviews/{review}/rejection",
            f"{O2C}/reviews/{review}/retry",
            f"{O2C}/orders/801000000000001AAA/cancellation",
        ):
            answer = await ref.http.post(path, json={}, headers=headers)
            assert answer.status_code == 403, path
            assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]

    async def test_a_customer_token_cannot_reach_operator_apis(self, ref: Reference) -> None:
        """A customer's portal token is refused by the Process layer and the operators'
        console (401: not its audience)."""
        ids = await _started_order(ref)
        headers = _customer(ref, ids["account"])
        for path in (
            f"{O2C}/reviews",
            f"{O2C}/kpis",
            f"/experience/service-console/v1/customers/{ids['account']}",
            "/experience/finance-dashboard/v1/dashboard",
        ):
            assert (await ref.http.get(path, headers=headers)).status_code == 401, path

    async def test_a_portal_token_cannot_write_through_the_portal(self, ref: Reference) -> None:
        """The portal is read-only: a POST with a portal token is a 403 or 405, never a write."""
        ids = await _started_order(ref)
        answer = await ref.http.post(
            f"{PORTAL}/orders",
            json={"crm_order_id": ids["order"]},
            headers=_customer(ref, ids["account"]),
        )
        assert answer.status_code in {403, 405}

    async def test_operator_actions_need_the_operators_scope(self, ref: Reference) -> None:
        """A review decision or a dead-letter replay with the API's write scope alone is a 403
        naming ops:operate; with ops:operate it passes (404: no such item)."""
        unknown = "00000000-0000-4000-8000-000000000000"
        cases = (
            ("order-to-cash", f"{O2C}/reviews/{unknown}/approval", {"order-to-cash:write"}),
            ("order-to-cash", f"{O2C}/reviews/{unknown}/rejection", {"order-to-cash:write"}),
            ("order-to-cash", f"{O2C}/reviews/{unknown}/retry", {"order-to-cash:write"}),
            (
                "dead-letters",
                f"{DEAD_LETTERS}/dead-letters/{unknown}/replay",
                {"dead-letters:admin"},
            ),
        )
        for api, path, scopes in cases:
            body = {"actor": "ops-1"}
            plain = await ref.http.post(path, json=body, headers=ref.bearer(api, scopes))
            assert plain.status_code == 403, path
            assert plain.headers["content-type"] == PROBLEM
            challenge = plain.headers["WWW-Authenticate"]
            assert 'error="insufficient_scope"' in challenge
            assert 'scope="ops:operate"' in challenge
            operator = ref.bearer(api, {*scopes, "ops:operate"}, subject="operator-1")
            allowed = await ref.http.post(path, json=body, headers=operator)
            assert allowed.status_code == 404, (path, allowed.text)
        # The bulk replay goes through too, and finds nothing to replay.
        bulk = await ref.http.post(
            f"{DEAD_LETTERS}/replays",
            json={"actor": "ops-1", "match": {"source": "/nowhere"}},
            headers=ref.bearer("dead-letters", {"dead-letters:admin", "ops:operate"}),
        )
        assert bulk.status_code == 200, bulk.text

    async def test_administrator_actions_need_the_administrators_scope(
        self, ref: Reference
    ) -> None:
        """Discarding a dead letter or cutting the ERP over with ops:operate only is a 403
        naming ops:administer; with ops:administer they pass the guard."""
        unknown = "00000000-0000-4000-8000-000000000000"
        discard = f"{DEAD_LETTERS}/dead-letters/{unknown}/discard"
        body = {"actor": "ops-1", "reason": "test"}
        for api, path, scopes, sent, passed in (
            ("dead-letters", discard, {"dead-letters:admin"}, body, 404),
            ("backend-health", CUT_OVER, {"backend-health:write"}, {"to": "s4hana"}, 409),
        ):
            operator = ref.bearer(api, {*scopes, "ops:operate"}, subject="operator-2")
            refused = await ref.http.post(path, json=sent, headers=operator)
            assert refused.status_code == 403, path
            assert 'scope="ops:administer"' in refused.headers["WWW-Authenticate"]
            admin = ref.bearer(api, {*scopes, "ops:operate", "ops:administer"}, subject="admin-1")
            answer = await ref.http.post(path, json=sent, headers=admin)
            assert answer.status_code == passed, (path, answer.text)
        reader = ref.bearer("backend-health", {"backend-health:read"})
        assert (await ref.http.get(ERP, headers=reader)).json()["serving"] == "s4hana"


class TestAPI6UnrestrictedAccessToSensitiveBusinessFlows:
    async def test_partner_order_submission_has_a_velocity_rule(self, ref: Reference) -> None:
        """Past its budget of submissions a minute a partner gets 429 with Retry-After;
        another partner is not held back."""
        token = await ref.partner_token("partner-8")
        key = ref.partner_keys["partner-8"]
        codes = []
        for n in range(ORDERS_PER_MINUTE + 1):
            answer = await ref.partner_call(
                "POST",
                f"{PARTNER}/orders",
                token,
                key=key,
                json={"crm_order_id": f"8010000000{n:05d}AAA", "partner_reference": f"R-{n}"},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            codes.append(answer.status_code)
        assert 429 not in codes[:-1], codes
        assert codes[-1] == 429
        assert int(answer.headers["Retry-After"]) >= 1
        assert '"partner-orders"' in answer.headers["RateLimit-Policy"]
        other = await ref.partner_call(
            "POST",
            f"{PARTNER}/orders",
            await ref.partner_token("partner-7"),
            key=ref.partner_keys["partner-7"],
            json={"crm_order_id": "801000000099999AAA", "partner_reference": "R-x"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert other.status_code != 429


class TestAPI7ServerSideRequestForgery:
    @pytest.mark.parametrize(
        "url",
        [
            "https://localhost/hook",
            "https://127.0.0.1/hook",
            "https://127.1/hook",
            "https://[::1]/hook",
            "https://10.0.0.5/hook",
            "https://192.168.1.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://ledgerbridge.internal/auth/token",
            "http://hooks.partner.example/hook",
            "file:///etc/passwd",
            "gopher://hooks.partner.example/",
            "https://user:pw@hooks.partner.example/",
        ],
    )
    async def test_webhook_callbacks_to_internal_targets_are_refused(
        self, ref: Reference, url: str
    ) -> None:
        """Callbacks to localhost, private ranges, link-local metadata, internal names, plain
        HTTP, file:// and other schemes are 422s naming callback_url."""
        answer = await ref.as_partner(
            "partner-7",
            "PUT",
            f"{PARTNER}/webhook",
            json={"callback_url": url},
        )
        assert answer.status_code == 422, url
        assert [e["field"] for e in answer.json()["errors"]] == ["callback_url"]

    async def test_a_public_https_callback_is_accepted(self, ref: Reference) -> None:
        """The allowed case: an HTTPS callback on a public name."""
        answer = await ref.as_partner(
            "partner-7",
            "PUT",
            f"{PARTNER}/webhook",
            json={"callback_url": "https://hooks.partner.example/ledger"},
        )
        assert answer.status_code == 200, answer.text


class TestAPI8SecurityMisconfiguration:
    async def test_error_bodies_and_headers_leak_nothing(self, ref: Reference) -> None:
        """401, 403, 404, 405, 413 and 422 answers are problem+json without stack traces,
        internal hosts, backend addresses, tokens or server versions."""
        token = ref.user("order-to-cash", {"order-to-cash:read"}, subject="leak-1")
        bearer = {"Authorization": f"Bearer {token}"}
        answers = [
            await ref.http.get(f"{O2C}/orders"),
            await ref.http.get(f"{O2C}/orders", headers={"Authorization": "Bearer not.a.jwt"}),
            await ref.http.post(f"{O2C}/orders", json={}, headers=bearer),
            await ref.http.get(f"{O2C}/orders/801000000000404AAA", headers=bearer),
            await ref.http.delete(f"{O2C}/orders", headers=bearer),
            await ref.http.get(f"{O2C}/orders", params={"cursor": "%%%"}, headers=bearer),
            await ref.http.get(
                "/system/crm-accounts/v1/accounts/001000000000404AAA",
                headers=ref.bearer("crm-accounts", {"crm-accounts:read"}),
            ),
        ]
        backends = [
            str(ref.settings.salesforce.base_url).split("//")[1],
            str(ref.settings.s4hana.base_url).split("//")[1].split("/")[0],
        ]
        for answer in answers:
            assert answer.status_code >= 400
            assert answer.headers["content-type"] == PROBLEM, answer.text
            text = answer.text + json.dumps(dict(answer.headers))
            for leak in (
                "Traceback",
                'File "',
                "sqlalchemy",
                "ledgerbridge.internal",
                token,
                *backends,
            ):
                assert leak not in text, (answer.request.url, leak)
            for header in ("server", "x-powered-by"):
                assert header not in answer.headers

    async def test_cors_is_closed_by_default(self, ref: Reference) -> None:
        """A cross-origin preflight gets no Access-Control-Allow-Origin."""
        answer = await ref.http.options(
            f"{O2C}/orders",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in answer.headers

    async def test_the_token_endpoint_answers_no_store(self, ref: Reference) -> None:
        """Token answers, refusals included, are never cached."""
        answer = await ref.http.post("/auth/token", data={"grant_type": "client_credentials"})
        assert answer.status_code in {400, 401}
        assert answer.headers["Cache-Control"] == "no-store"

    async def test_docs_pages_are_closed_in_production(
        self, ref: Reference, tmp_path: Path
    ) -> None:
        """With environment=production no API serves /docs, /redoc or /openapi.json (404,
        problem+json), while the document is still built in-process for the contracts and
        the catalog; the development default serves them, and expose_docs overrides."""
        pages = ("/docs", "/redoc", "/openapi.json")
        for page in pages:
            served = await ref.http.get(f"{O2C}{page}")
            assert served.status_code == 200, page
        async with reference_house(tmp_path, environment="production") as prod:
            apps = _fastapi_apps(prod.house.app)
            assert len(apps) == len(prod.house.apis)
            published = 0
            for base, app in apps:
                for page in pages:
                    answer = await prod.http.get(f"{base}{page}")
                    assert answer.status_code == 404, f"{base}{page}"
                    assert answer.headers["content-type"] == PROBLEM
                published += len(app.openapi()["paths"])
            assert published > 50
            # The probes stay open.
            assert (await prod.http.get(f"{O2C}/healthz")).status_code == 200
        assert Settings(environment="production", auth={"expose_docs": True}).docs_exposed
        assert not Settings(auth={"expose_docs": False}).docs_exposed


def _fastapi_apps(app: Any, prefix: str = "") -> list[tuple[str, FastAPI]]:
    found = []
    for route in getattr(app, "routes", []):
        if isinstance(route, Mount):
            path = prefix + route.path
            if isinstance(route.app, FastAPI):
                found.append((path, route.app))
            else:
                found += _fastapi_apps(route.app, path)
    return found


class TestAPI9ImproperInventoryManagement:
    async def test_every_served_route_is_in_the_catalog_and_the_contract(
        self, ref: Reference
    ) -> None:
        """Each mounted API is a catalog entry, and each of its routes is in its published
        OpenAPI document (the platform's probes excepted)."""
        catalog = {meta.base_path for meta in ref.house.apis}
        probes = {"/healthz", "/readyz", "/metrics", "/lifecycle"}
        served = _fastapi_apps(ref.house.app)
        assert served
        for base, app in served:
            assert base in catalog, base
            published = app.openapi()["paths"]
            for route in app.routes:
                if isinstance(route, APIRoute) and route.path not in probes:
                    assert route.path in published, f"{base}{route.path}"

    async def test_nothing_but_the_catalog_and_the_token_service_is_served(
        self, ref: Reference
    ) -> None:
        """An unknown API, version or layer path is a 404, not a shadow API."""
        for path in (
            "/system/crm-accounts/v0/accounts",
            "/internal/admin",
            "/process/o2c/v1/orders",
        ):
            assert (await ref.http.get(path)).status_code == 404, path

    async def test_deprecated_versions_announce_themselves(self, ref: Reference) -> None:
        """Customer portal v1 answers with Deprecation, Sunset and a successor Link."""
        ids = await _started_order(ref)
        answer = await ref.http.get(
            f"{PORTAL}/orders/{ids['order']}/status", headers=_customer(ref, ids["account"])
        )
        assert answer.status_code == 200
        assert answer.headers["Deprecation"].startswith("@")
        assert "Sunset" in answer.headers
        assert 'rel="successor-version"' in answer.headers["Link"]
        assert "/customer-portal/v2" in answer.headers["Link"]


class TestAPI10UnsafeConsumptionOfApis:
    async def test_a_hostile_account_from_the_crm_is_refused_at_the_system_layer(
        self, ref: Reference
    ) -> None:
        """A CRM account whose country is markup, not an ISO code, is a mapping problem
        naming the backend field, never served as canonical data."""
        account = await ref.crm.create(
            "Account", {"Name": "Hostile Ltd", "BillingCountry": "<script>alert(1)</script>"}
        )
        answer = await ref.http.get(
            f"/system/crm-accounts/v1/accounts/{account}",
            headers=ref.bearer("crm-accounts", {"crm-accounts:read"}),
        )
        assert answer.status_code == 422
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["type"].endswith("/mapping")
        assert [e["field"] for e in answer.json()["errors"]] == ["BillingCountry"]

    @pytest.mark.parametrize(
        ("line", "field"),
        [
            ({"Quantity": -5, "UnitPrice": "10"}, "Quantity"),
            ({"Quantity": 0, "UnitPrice": "10"}, "Quantity"),
        ],
    )
    async def test_an_order_with_hostile_lines_is_not_taken_into_the_erp(
        self, ref: Reference, line: dict[str, Any], field: str
    ) -> None:
        """An order line with a negative or zero quantity stops at the System layer's
        mapping: order-to-cash answers a problem naming it, writes no case and books
        nothing in the ERP."""
        ids = await _crm_order(ref)  # type: ignore[arg-type]
        product = await ref.crm.create(
            "Product2", {"Name": "Bad", "ProductCode": ids["fx"], "IsActive": True}
        )
        await ref.crm.create("OrderItem", {"OrderId": ids["order"], "Product2Id": product, **line})
        token = await ref.client_token("back-office", "order-to-cash:write order-to-cash:read")
        bearer = {"Authorization": f"Bearer {token}"}
        started = await ref.http.post(
            f"{O2C}/orders", json={"crm_order_id": ids["order"]}, headers=bearer
        )
        assert started.status_code == 422, started.text
        assert started.headers["content-type"] == PROBLEM
        assert any(field in e["field"] for e in started.json()["errors"]), started.text
        case = await ref.http.get(f"{O2C}/orders/{ids['order']}", headers=bearer)
        assert case.status_code == 404
        booked = await ref.erp.query(
            "API_SALES_ORDER_SRV",
            "A_SalesOrder",
            filter=f"PurchaseOrderByCustomer eq {odata_literal(ids['order'])}",
        )
        assert booked == []

    @pytest.mark.parametrize(
        "name",
        [
            "Evil\x1b[2J\x1b[31mCorp",  # terminal escapes, for whoever tails the logs
            "Null\x00Byte Ltd",
            "Bell\x07 & Backspace\x08 plc",
            "C1\x85control GmbH",
        ],
    )
    async def test_control_characters_from_the_crm_are_a_502_naming_backend_and_field(
        self, ref: Reference, name: str
    ) -> None:
        """An account whose name carries control characters is refused by the System layer:
        502 problem+json naming the CRM and the Name field, the value not echoed."""
        account = await ref.crm.create("Account", {"Name": name})
        answer, problem = await _refused_account(ref, account)
        assert "control character" in problem["detail"]
        assert [e["field"] for e in problem["errors"]] == ["Name"]
        assert name not in answer.text

    async def test_control_characters_sent_to_the_crm_are_a_422_and_nothing_is_written(
        self, ref: Reference
    ) -> None:
        """Text bound for a backend is held to the rule text read from it is: a caller's
        account name with a control character is a 422 naming the field, and the CRM
        holds no such account (it would be unreadable once written)."""
        name = "Write\x9bBack Ltd"
        answer = await ref.http.post(
            "/system/crm-accounts/v1/accounts",
            json={"name": name},
            headers=ref.bearer("crm-accounts", {"crm-accounts:write"}),
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert [e["field"] for e in answer.json()["errors"]] == ["name"]
        found = await ref.crm.query("SELECT Id FROM Account WHERE Name LIKE 'Write%'")
        assert found == []

    async def test_tabs_and_line_breaks_are_text(self, ref: Reference) -> None:
        """Tab, LF and CRLF in free text pass: they are text, not control sequences."""
        account = await ref.crm.create(
            "Account",
            {
                "Name": "Tab\tLtd",
                "BillingStreet": "1 Quay\r\nBuilding 2\nFloor 3",
                "BillingCity": "Dublin",
                "BillingPostalCode": "D02",
                "BillingCountry": "IE",
            },
        )
        answer = await ref.http.get(
            f"/system/crm-accounts/v1/accounts/{account}",
            headers=ref.bearer("crm-accounts", {"crm-accounts:read"}),
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["name"] == "Tab\tLtd"

    @pytest.mark.parametrize(
        ("planted", "rule"),
        [
            ({"Name": "A" * 131_073}, "longer than"),
            ({"Name": {"$gt": ""}}, "wrong type"),
            ({"Name": ["Alpha", "Beta"]}, "wrong type"),
            ({"Name": "Fine Ltd", "Phone": {"number": 1}}, "wrong type"),
            ({"Name": "Fine Ltd", "AccountNumber": True}, "wrong type"),
        ],
    )
    async def test_oversize_and_wrongly_typed_crm_fields_are_a_502(
        self,
        ref: Reference,
        tmp_path_factory: pytest.TempPathFactory,
        planted: dict[str, Any],
        rule: str,
    ) -> None:
        """A record the CRM's own API would refuse, planted in its storage as a compromised
        or buggy backend would serve it, is a 502 naming the backend and field."""
        account = await ref.crm.create("Account", {"Name": "To be corrupted"})
        _plant_in_crm(tmp_path_factory, account, planted)
        _, problem = await _refused_account(ref, account)
        assert rule in problem["detail"]
        field = next(k for k, v in planted.items() if v != "Fine Ltd")
        assert [e["field"] for e in problem["errors"]] == [field]

    async def test_a_hostile_order_is_not_half_taken_into_the_erp(self, ref: Reference) -> None:
        """An order line whose description carries an escape sequence stops at the System
        layer: order-to-cash answers 502 naming the CRM field, writes no case and books
        nothing in the ERP."""
        ids = await _crm_order(ref)  # type: ignore[arg-type]
        product = await ref.crm.create(
            "Product2", {"Name": "Odd", "ProductCode": ids["fx"], "IsActive": True}
        )
        await ref.crm.create(
            "OrderItem",
            {
                "OrderId": ids["order"],
                "Product2Id": product,
                "Quantity": 1,
                "UnitPrice": "10",
                "Description": "see \x1b]8;;https://evil.example\x07here",
            },
        )
        token = await ref.client_token("back-office", "order-to-cash:write order-to-cash:read")
        bearer = {"Authorization": f"Bearer {token}"}
        started = await ref.http.post(
            f"{O2C}/orders", json={"crm_order_id": ids["order"]}, headers=bearer
        )
        assert started.status_code == 502, started.text
        assert started.headers["content-type"] == PROBLEM
        assert "salesforce" in started.json()["detail"]
        [field] = [e["field"] for e in started.json()["errors"]]
        assert field.startswith("OrderItems.records[")
        assert field.endswith("].Description")
        case = await ref.http.get(f"{O2C}/orders/{ids['order']}", headers=bearer)
        assert case.status_code == 404
        booked = await ref.erp.query(
            "API_SALES_ORDER_SRV",
            "A_SalesOrder",
            filter=f"PurchaseOrderByCustomer eq {odata_literal(ids['order'])}",
        )
        assert booked == []


async def _refused_account(ref: Reference, account: str) -> tuple[httpx.Response, Any]:
    """The System layer's answer for a CRM account it must refuse: a 502 from the CRM."""
    answer = await ref.http.get(
        f"/system/crm-accounts/v1/accounts/{account}",
        headers=ref.bearer("crm-accounts", {"crm-accounts:read"}),
    )
    assert answer.status_code == 502, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["detail"].startswith("salesforce: ")
    return answer, problem


def _plant_in_crm(
    tmp_path_factory: pytest.TempPathFactory, record_id: str, fields: dict[str, Any]
) -> None:
    """Overwrite fields of a CRM sandbox record in its storage, past its API's checks."""
    [database] = tmp_path_factory.getbasetemp().glob("owasp[0-9]*/crm.sqlite3")
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        # The sandbox indexes records by this function; every connection must know it.
        db.create_function("soql_fold", 1, fold, deterministic=True)
        [(data,)] = db.execute("SELECT data FROM records WHERE id = ?", (record_id,)).fetchall()
        db.execute(
            "UPDATE records SET data = ? WHERE id = ?",
            (json.dumps({**json.loads(data), **fields}), record_id),
        )
