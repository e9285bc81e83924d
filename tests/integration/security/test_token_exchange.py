"""RFC 8693 token exchange across two hops: portal -> order-to-cash -> crm-orders."""

from __future__ import annotations

import base64
import json

import httpx

from ledgerbridge.runtime.security import ACCESS_TOKEN_TYPE, EXCHANGE_GRANT

from .conftest import PREFIX, SECRET, SecuredHouse


def _claims(token: str) -> dict[str, object]:
    segment = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def _customer_token(house: SecuredHouse, *, scopes: set[str] | None = None) -> str:
    """What the portal's sign-in gives a customer: a token for the portal only."""
    return house.service.issuer.issue(
        subject="customer-42",
        client_id="portal-web",
        audience=f"{PREFIX}customer-portal",
        scopes=scopes or {"customer-portal:read"},
        extra={"customer_id": "C-42"},
    ).token


async def _exchange(
    house: SecuredHouse, client_id: str, subject: str, *, audience: str, scope: str
) -> httpx.Response:
    return await house.token(
        {
            "grant_type": EXCHANGE_GRANT,
            "client_id": client_id,
            "client_secret": SECRET,
            "subject_token": subject,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "audience": audience,
            "scope": scope,
        }
    )


class TestTwoHops:
    async def test_each_hop_narrows_the_audience_and_records_the_actor_chain(
        self, house: SecuredHouse
    ) -> None:
        """Two exchanges keep the customer as subject, name one audience each, and nest act."""
        customer = _customer_token(house)
        first = await _exchange(
            house,
            "customer-portal",
            customer,
            audience=f"{PREFIX}order-to-cash",
            scope="order-to-cash:read",
        )
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
        assert body["token_type"] == "Bearer"
        process_token = body["access_token"]
        process = _claims(process_token)
        assert process["sub"] == "customer-42"
        assert process["aud"] == f"{PREFIX}order-to-cash"
        assert process["act"] == {"sub": "customer-portal"}
        assert process["customer_id"] == "C-42"

        second = await _exchange(
            house,
            "order-to-cash",
            process_token,
            audience=f"{PREFIX}crm-orders",
            scope="crm-orders:read",
        )
        assert second.status_code == 200, second.text
        system_token = second.json()["access_token"]
        system = _claims(system_token)
        assert system["sub"] == "customer-42"
        assert system["act"] == {"sub": "order-to-cash", "act": {"sub": "customer-portal"}}
        assert system["scope"] == "crm-orders:read"
        assert int(str(system["exp"])) <= int(str(_claims(customer)["exp"]))

        served = await house.http.get(
            "/system/crm-orders/v1/whoami", headers={"Authorization": f"Bearer {system_token}"}
        )
        assert served.status_code == 200
        # The customer's own token is not for the System API.
        direct = await house.http.get(
            "/system/crm-orders/v1/whoami", headers={"Authorization": f"Bearer {customer}"}
        )
        assert direct.status_code == 401
        assert house.issued == [
            ("customer-portal", EXCHANGE_GRANT),
            ("order-to-cash", EXCHANGE_GRANT),
        ]

    async def test_an_exchanged_token_never_outlives_its_subject(self, house: SecuredHouse) -> None:
        """A subject token with 100 s left yields a token with at most 100 s left."""
        customer = _customer_token(house)
        house.clock.now += 200
        answer = await _exchange(
            house,
            "customer-portal",
            customer,
            audience=f"{PREFIX}order-to-cash",
            scope="order-to-cash:read",
        )
        assert answer.json()["expires_in"] == 100


class TestRefusals:
    async def test_a_read_only_caller_gets_no_write_scope(self, house: SecuredHouse) -> None:
        """Asking a write scope for a caller who only reads is invalid_scope."""
        answer = await _exchange(
            house,
            "customer-portal",
            _customer_token(house),
            audience=f"{PREFIX}order-to-cash",
            scope="order-to-cash:write",
        )
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_scope"

    async def test_an_audience_the_client_may_not_reach_is_invalid_target(
        self, house: SecuredHouse
    ) -> None:
        """The portal may reach the Process layer, not a System API directly."""
        answer = await _exchange(
            house,
            "customer-portal",
            _customer_token(house),
            audience=f"{PREFIX}crm-orders",
            scope="order-to-cash:read",
        )
        assert answer.json()["error"] == "invalid_target"

    async def test_a_token_for_another_api_cannot_be_traded(self, house: SecuredHouse) -> None:
        """order-to-cash cannot trade the customer's portal token: it was not issued to it."""
        answer = await _exchange(
            house,
            "order-to-cash",
            _customer_token(house),
            audience=f"{PREFIX}crm-orders",
            scope="crm-orders:read",
        )
        assert answer.json()["error"] == "invalid_grant"

    async def test_an_expired_or_forged_subject_is_invalid_grant(self, house: SecuredHouse) -> None:
        """An expired subject token and a tampered one are both refused."""
        customer = _customer_token(house)
        head, _, signature = customer.split(".")
        forged_claims = {**_claims(customer), "sub": "customer-43"}
        forged_payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=")
        forged = f"{head}.{forged_payload.decode()}.{signature}"

        async def error_for(subject: str) -> str:
            answer = await _exchange(
                house,
                "customer-portal",
                subject,
                audience=f"{PREFIX}order-to-cash",
                scope="order-to-cash:read",
            )
            assert answer.status_code == 400
            return str(answer.json()["error"])

        assert await error_for(forged) == "invalid_grant"
        house.clock.now += 400
        assert await error_for(customer) == "invalid_grant"

    async def test_may_act_restricts_who_may_exchange(self, house: SecuredHouse) -> None:
        """A subject token naming another actor in may_act cannot be traded by this client."""
        restricted = house.service.issuer.issue(
            subject="customer-42",
            client_id="portal-web",
            audience=f"{PREFIX}customer-portal",
            scopes={"customer-portal:read"},
            extra={"may_act": {"sub": "mobile"}},
        ).token
        answer = await _exchange(
            house,
            "customer-portal",
            restricted,
            audience=f"{PREFIX}order-to-cash",
            scope="order-to-cash:read",
        )
        assert answer.json()["error"] == "invalid_grant"
