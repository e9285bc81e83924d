"""The reference house with authentication on, over the CRM and ERP sandboxes.

Callers are registered in a clients file and signing keys come from a key file, as in
production; end users' tokens (no sign-in flow yet) are signed here with the same key file,
as an external identity provider sharing the issuer would.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.audit import AuditTrail
from ledgerbridge.runtime.house import House
from ledgerbridge.runtime.security import (
    DpopKey,
    KeyRing,
    TokenIssuer,
    hash_secret,
    new_signing_key,
)
from ledgerbridge.runtime.settings import AuthSettings, ProcessSettings, Settings
from ledgerbridge.runtime.store import Store
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

BASE = "http://ledgerbridge.internal"
ISSUER = f"{BASE}/auth"
TOKEN_URL = f"{ISSUER}/token"
PREFIX = "urn:ledgerbridge:"
SECRET = "reference-secret-for-tests-only"


@dataclass
class Reference:
    """A running secured house and what a test needs to call it."""

    house: House
    http: httpx.AsyncClient
    store: Store
    crm: SalesforceClient
    erp: S4HanaClient
    users: TokenIssuer
    partner_keys: dict[str, DpopKey]
    settings: Settings

    def user(self, api: str, scopes: set[str], subject: str = "clerk-1", **claims: Any) -> str:
        """A token for an end user of ``api``, as the sign-in would give it."""
        return self.users.issue(
            subject=subject,
            client_id="sign-in",
            audience=f"{PREFIX}{api}",
            scopes=scopes,
            extra=claims,
        ).token

    def bearer(self, api: str, scopes: set[str], **claims: Any) -> dict[str, str]:
        """The Authorization header of :meth:`user`'s token."""
        return {"Authorization": f"Bearer {self.user(api, scopes, **claims)}"}

    async def client_token(self, client_id: str, scope: str) -> str:
        """A token for a registered back-office client (client credentials)."""
        answer = await self.http.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": SECRET,
                "scope": scope,
            },
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    async def partner_token(self, partner: str = "partner-7") -> str:
        """A DPoP-bound token for ``partner``, bound to its key."""
        key = self.partner_keys[partner]
        first = await self.http.post(
            "/auth/token",
            data=self._partner_form(partner),
            headers={"DPoP": key.proof("POST", TOKEN_URL)},
        )
        nonce = first.headers["DPoP-Nonce"]
        answer = await self.http.post(
            "/auth/token",
            data=self._partner_form(partner),
            headers={"DPoP": key.proof("POST", TOKEN_URL, nonce=nonce)},
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def _partner_form(self, partner: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": partner,
            "client_secret": SECRET,
            "scope": "partner:orders",
        }

    async def partner_call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        key: DpopKey,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """A call to the partner API with a DPoP proof by ``key``, answering a nonce
        challenge once."""
        url = f"{BASE}{path}"
        nonce: str | None = None
        for _ in range(2):
            proof = key.proof(method, url, access_token=token, nonce=nonce)
            sent = {**(headers or {}), "Authorization": f"DPoP {token}", "DPoP": proof}
            answer = await self.http.request(method, url, headers=sent, **kwargs)
            if answer.status_code != 401 or "DPoP-Nonce" not in answer.headers:
                break
            nonce = answer.headers["DPoP-Nonce"]
        return answer

    async def as_partner(
        self, partner: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        """One call to the partner API as ``partner``: a fresh token, proofs by its key."""
        token = await self.partner_token(partner)
        return await self.partner_call(
            method, path, token, key=self.partner_keys[partner], **kwargs
        )

    async def token_events(self) -> list[dict[str, Any]]:
        """The ``token.issued`` entries of the audit trail, oldest first."""
        entries = await AuditTrail(self.store).entries(limit=10_000)
        return [
            {"actor": e.actor, "subject": e.subject, "target": e.target, **json.loads(e.detail)}
            for e in entries
            if e.action == "token.issued"
        ]


def _clients(partner_keys: dict[str, DpopKey]) -> list[dict[str, Any]]:
    secret = hash_secret(SECRET)
    back_office = {
        "client_id": "back-office",
        "secret_hash": secret,
        "scopes": ["order-to-cash:read", "order-to-cash:write", "crm-accounts:read"],
        "audiences": [f"{PREFIX}order-to-cash", f"{PREFIX}crm-accounts"],
    }
    partners = [
        {
            "client_id": partner,
            "secret_hash": secret,
            "scopes": ["partner:orders"],
            "audiences": [f"{PREFIX}partner"],
            "dpop_bound": True,
            "claims": {"partner_id": partner},
        }
        for partner in partner_keys
    ]
    return [back_office, *partners]


@contextlib.asynccontextmanager
async def reference_house(
    tmp: Path, *, auth_options: dict[str, Any] | None = None, **overrides: Any
) -> AsyncIterator[Reference]:
    """Sandboxes, then the house with auth_mode=jwt, the key and client files in ``tmp``;
    ``auth_options`` change the auth settings, ``overrides`` the others."""
    partner_keys = {"partner-7": DpopKey.generate(), "partner-8": DpopKey.generate()}
    keys_file = tmp / "signing-keys.json"
    keys_file.write_text(json.dumps({"keys": [new_signing_key().as_dict(private=True)]}))
    clients_file = tmp / "clients.json"
    clients_file.write_text(json.dumps(_clients(partner_keys)))
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp / "crm.sqlite3")))
        )
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp / "erp.sqlite3")))
        )
        options: dict[str, Any] = {"process": ProcessSettings(workers=False), **overrides}
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp / f'store-{uuid.uuid4().hex}.sqlite3'}",
            salesforce={"base_url": crm_url},  # type: ignore[arg-type]
            s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap"},  # type: ignore[arg-type]
            auth_mode="jwt",
            auth=AuthSettings(
                signing_keys_file=keys_file,
                clients_file=clients_file,
                nonce_secret=SecretStr(secrets.token_hex(32)),
                **(auth_options or {}),
            ),
            **options,
        )
        house = await stack.enter_async_context(open_house(settings))
        assert house.insight.store is not None
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=house.app), base_url=BASE)
        stack.push_async_callback(http.aclose)
        defaults = Settings()
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=defaults.salesforce.client_id,
            client_secret=defaults.salesforce.client_secret.get_secret_value(),
        )
        erp = S4HanaClient(
            base_url=f"{erp_url}/sap/opu/odata/sap",
            username=defaults.s4hana.username,
            password=defaults.s4hana.password.get_secret_value(),
        )
        stack.push_async_callback(crm.aclose)
        stack.push_async_callback(erp.aclose)
        yield Reference(
            house=house,
            http=http,
            store=house.insight.store,
            crm=crm,
            erp=erp,
            users=TokenIssuer(ISSUER, KeyRing.from_file(keys_file)),
            partner_keys=partner_keys,
            settings=settings,
        )
