"""The org's API allowance against the CRM sandbox over HTTP: watched, and a clean pause.

The connector reads ``Sforce-Limit-Info`` on every answer. On REQUEST_LIMIT_EXCEEDED it
pauses for the answer's Retry-After (else its configured window): calls fail fast with
BackendPaused and reach no CRM, the System APIs answer 503 problem+json with Retry-After,
and the first call after the window goes out again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.contract.crm_apis.conftest import open_system

from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.connectors.salesforce import ApiUsage, SalesforceClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.errors import BackendPaused
from ledgerbridge.runtime.problems import UpstreamProblem
from ledgerbridge.sandboxes.crm import create_app as create_crm

ADMIN = ("ledgerbridge", "sandbox-secret")
ACCOUNTS = "/system/crm-accounts/v1/accounts"
SOQL = "SELECT Id FROM Account"


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _reported_usage(crm_url: str) -> ApiUsage | None:
    """The usage the CRM reports to a fresh session's call (which it counts too)."""
    async with httpx.AsyncClient(base_url=crm_url) as http:
        token = (
            await http.post(
                "/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": ADMIN[0],
                    "client_secret": ADMIN[1],
                },
            )
        ).json()["access_token"]
        answer = await http.get(
            "/services/data/v59.0/limits", headers={"Authorization": f"Bearer {token}"}
        )
    return ApiUsage.from_headers(answer.headers)


@pytest.fixture
async def crm_url(tmp_path: Path) -> AsyncIterator[str]:
    """A CRM sandbox allowing three API requests a day."""
    app = create_crm(database=str(tmp_path / "crm.sqlite3"), daily_request_limit=3)
    async with serving(app) as url:
        yield url


async def test_usage_is_watched_and_the_limit_pauses_calls(crm_url: str) -> None:
    """Usage follows each answer; past the limit calls pause, reach no CRM, then probe again."""
    clock = Clock()
    async with SalesforceClient(
        base_url=crm_url, client_id=ADMIN[0], client_secret=ADMIN[1], limit_pause=60, clock=clock
    ) as sf:
        assert sf.api_usage is None
        await sf.query(SOQL)
        assert sf.api_usage == ApiUsage(used=1, limit=3)
        await sf.query(SOQL)
        await sf.query(SOQL)
        assert sf.api_usage == ApiUsage(used=3, limit=3)
        assert sf.api_usage.remaining == 0

        with pytest.raises(BackendPaused) as refused:
            await sf.query(SOQL)
        assert refused.value.retry_after == 60
        assert sf.paused_for == 60
        clock.now += 30
        with pytest.raises(BackendPaused) as paused:
            await sf.query(SOQL)
        assert paused.value.retry_after == 30
        with pytest.raises(BackendPaused):
            async for _ in sf.change_events(replay_id=-2, follow=False):
                pass
        # Four calls reached the CRM; the paused ones did not. This probe is the fifth.
        assert await _reported_usage(crm_url) == ApiUsage(used=5, limit=3)

        clock.now += 31
        assert sf.paused_for == 0
        with pytest.raises(BackendPaused):
            await sf.query(SOQL)  # the probe goes out, and the CRM still refuses
        assert sf.api_usage == ApiUsage(used=6, limit=3)


async def test_a_retry_after_sets_the_pause(tmp_path: Path) -> None:
    """A refusal with Retry-After pauses for that long; after it, calls succeed again."""
    clock = Clock()
    async with (
        serving(create_crm(database=str(tmp_path / "crm.sqlite3"))) as url,
        httpx.AsyncClient(base_url=url, auth=ADMIN) as admin,
        SalesforceClient(
            base_url=url, client_id=ADMIN[0], client_secret=ADMIN[1], limit_pause=60, clock=clock
        ) as sf,
    ):
        plan = {"rules": [{"route": "/services/data/*", "error_rates": {"429": 1.0}}]}
        (await admin.put("/sandbox/admin/faults", json=plan)).raise_for_status()
        with pytest.raises(BackendPaused) as refused:
            await sf.query(SOQL)
        assert refused.value.retry_after == 1
        (await admin.delete("/sandbox/admin/faults")).raise_for_status()
        clock.now += 1
        assert await sf.query(SOQL) == []


async def test_system_apis_answer_503_with_retry_after_while_paused(tmp_path: Path) -> None:
    """Past the limit the API answers 503 problem+json with Retry-After and stops calling."""
    async with open_system(tmp_path, daily_request_limit=2) as (system, crm_url):
        for _ in range(2):
            assert (await system.get(ACCOUNTS)).status_code == 200
        for _ in range(2):
            response = await system.get(ACCOUNTS)
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert 0 < int(response.headers["retry-after"]) <= 60
            assert "REQUEST_LIMIT_EXCEEDED" in response.json()["detail"]
        # The refused call counted; the paused one never reached the CRM; the probe counts.
        assert await _reported_usage(crm_url) == ApiUsage(used=4, limit=2)
        breakers = (await system.get("/system/backend-health/v1/breakers")).json()
        salesforce = next(b for b in breakers["breakers"] if b["backend"] == "salesforce")
        assert salesforce["state"] == "closed"
        metrics = (await system.get(f"{ACCOUNTS.removesuffix('/accounts')}/metrics")).text
        assert "ledgerbridge_salesforce_api_requests_limit 2.0" in metrics


async def test_the_layers_above_learn_how_long_the_pause_lasts(tmp_path: Path) -> None:
    """A Process or Experience caller of the paused System API gets the Retry-After on its
    error, so its retries (the bus's redeliveries among them) wait the pause out."""
    async with open_system(tmp_path, daily_request_limit=1) as (system, _):
        accounts = CrmAccountsClient(system)
        await accounts.list_accounts()
        with pytest.raises(UpstreamProblem):
            await accounts.list_accounts()  # refused by the CRM: the pause starts
        with pytest.raises(UpstreamProblem) as paused:
            await accounts.list_accounts()
        assert paused.value.status == 503
        assert paused.value.retry_after is not None
        assert 0 < paused.value.retry_after <= 60
