"""OAuth, sessions, versions and usage reporting of the CRM sandbox."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from ledgerbridge.sandboxes.crm import create_app

from .conftest import BASE_URL, DATA


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def test_client_credentials_in_form_issue_a_bearer_token(crm_app: FastAPI) -> None:
    """Form-encoded client credentials yield a token with the instance URL of the request."""
    async with _client(crm_app) as client:
        response = await client.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "ledgerbridge",
                "client_secret": "sandbox-secret",
            },
        )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == BASE_URL
    assert body["id"].startswith(f"{BASE_URL}/id/00D")
    assert body["issued_at"].isdigit()
    assert {"access_token", "signature"} <= body.keys()


async def test_client_credentials_over_basic_auth(crm_app: FastAPI) -> None:
    """HTTP Basic carries the client id and secret as simple-salesforce sends them."""
    basic = base64.b64encode(b"ledgerbridge:sandbox-secret").decode()
    async with _client(crm_app) as client:
        response = await client.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
    assert response.status_code == 200


async def test_password_grant_checks_the_user() -> None:
    """The password grant accepts the configured user and refuses a wrong password."""
    app = create_app(username="ops@example.com", password="pw-123")
    form = {
        "grant_type": "password",
        "client_id": "ledgerbridge",
        "client_secret": "sandbox-secret",
        "username": "ops@example.com",
    }
    async with _client(app) as client:
        good = await client.post("/services/oauth2/token", data={**form, "password": "pw-123"})
        bad = await client.post("/services/oauth2/token", data={**form, "password": "nope"})
    assert good.status_code == 200
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


@pytest.mark.parametrize(
    ("client_id", "client_secret"), [("ledgerbridge", "wrong"), ("someone-else", "sandbox-secret")]
)
async def test_bad_client_credentials_are_invalid_client(
    crm_app: FastAPI, client_id: str, client_secret: str
) -> None:
    """A wrong client id or secret is refused with invalid_client."""
    async with _client(crm_app) as client:
        response = await client.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"] == "authentication failure"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
async def test_data_calls_need_a_valid_session(crm_app: FastAPI, authorization: str | None) -> None:
    """A missing or unknown token gets 401 INVALID_SESSION_ID as a JSON list."""
    headers = {"Authorization": authorization} if authorization else {}
    async with _client(crm_app) as client:
        response = await client.get(
            f"{DATA}/query/", params={"q": "SELECT Id FROM Account"}, headers=headers
        )
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


async def test_versions_are_listed_without_a_session(crm_app: FastAPI) -> None:
    """GET /services/data/ lists versions up to the configured one, newest last."""
    async with _client(crm_app) as client:
        response = await client.get("/services/data/")
    versions = response.json()
    assert versions[-1] == {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}
    assert {"label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0"} not in versions


async def test_unknown_version_is_not_found(http: httpx.AsyncClient) -> None:
    """A version newer than the sandbox serves is a 404."""
    response = await http.get("/services/data/v99.0/sobjects/Account/")
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


async def test_every_data_response_reports_api_usage(http: httpx.AsyncClient) -> None:
    """Sforce-Limit-Info counts each request of the day against the daily limit."""
    first = await http.get(f"{DATA}/query/", params={"q": "SELECT Id FROM Account"})
    second = await http.get(f"{DATA}/sobjects/Account/001000000000000AAA")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    assert second.status_code == 404
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/15000"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": 1}, "expired"),
        ({"aud": "https://evil.example"}, "audience"),
        ({"sub": "someone@else"}, "approved"),
    ],
)
async def test_jwt_bearer_claims_are_checked(claims: dict[str, Any], reason: str) -> None:
    """Expired assertions, foreign audiences and other users are invalid_grant."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app = create_app(username="ops@example.com", jwt_certificate=public)
    payload = {
        "iss": "ledgerbridge",
        "sub": "ops@example.com",
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
        **claims,
    }
    assertion = jwt.encode(payload, key, algorithm="RS256")
    async with _client(app) as client:
        response = await client.post(
            "/services/oauth2/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert reason in response.json()["error_description"]
