"""The reference house's System APIs with auth_mode=jwt: refused without a token."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from ledgerbridge.bootstrap import open_house
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.security import KeyRing, TokenIssuer, new_signing_key
from ledgerbridge.runtime.settings import AuthSettings, ObservabilitySettings, Settings


async def test_every_system_api_refuses_a_missing_or_misdirected_token(tmp_path: Path) -> None:
    """Each System API answers 401 without a token and with a token for another API;
    a token for it passes the guard."""
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [new_signing_key().as_dict(private=True)]}))
    settings = Settings(
        auth_mode="jwt",
        auth=AuthSettings(signing_keys_file=keys),
        observability=ObservabilitySettings(analytics=False, metrics=False),
        salesforce={"base_url": "http://127.0.0.1:9"},  # type: ignore[arg-type]
        s4hana={"base_url": "http://127.0.0.1:9/sap"},  # type: ignore[arg-type]
    )
    issuer = TokenIssuer(settings.auth.issuer, KeyRing.from_file(keys))
    async with open_house(settings, layers={Layer.SYSTEM}, migrate=False) as house:
        assert len(house.apis) >= 14
        transport = httpx.ASGITransport(app=house.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://house.test") as http:
            for meta in house.apis:
                probe = f"{meta.base_path}/no-such-route"
                assert (await http.get(probe)).status_code == 401, meta.name
                other = issuer.issue(
                    subject="x",
                    client_id="x",
                    audience="urn:ledgerbridge:elsewhere",
                    scopes=set(meta.scopes),
                ).token
                misdirected = await http.get(probe, headers={"Authorization": f"Bearer {other}"})
                assert misdirected.status_code == 401, meta.name
                own = issuer.issue(
                    subject="x",
                    client_id="x",
                    audience=f"urn:ledgerbridge:{meta.name}",
                    scopes=set(meta.scopes),
                ).token
                allowed = await http.get(probe, headers={"Authorization": f"Bearer {own}"})
                assert allowed.status_code == 404, meta.name


async def test_auth_stays_off_by_default(tmp_path: Path) -> None:
    """Without auth_mode=jwt the APIs serve without tokens and no token service is mounted."""
    settings = Settings(
        observability=ObservabilitySettings(analytics=False, metrics=False),
        salesforce={"base_url": "http://127.0.0.1:9"},  # type: ignore[arg-type]
        s4hana={"base_url": "http://127.0.0.1:9/sap"},  # type: ignore[arg-type]
    )
    async with open_house(settings, layers={Layer.SYSTEM}, migrate=False) as house:
        transport = httpx.ASGITransport(app=house.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://house.test") as http:
            assert (await http.get("/system/crm-orders/v1/no-such-route")).status_code == 404
            assert (await http.get("/auth/jwks")).status_code == 404
