"""The System layer over real HTTP to the ERP and CRM sandboxes, with the ERP's fault levers.

Retries never sleep here (the resilience test switch); the breaker's reset timeout is short
and real, so that a test can wait for the half-open probe.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.resilience import policies, set_testing
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

AUTH = ("LEDGERBRIDGE", "sandbox-secret")
BREAKER_RESET = 0.5
"""Seconds an open ERP breaker waits before its probe; short, since tests wait it out."""


@dataclass
class Deployed:
    """The System layer, the ERP sandbox's admin routes and a direct ERP connector."""

    system: httpx.AsyncClient
    erp_admin: httpx.AsyncClient
    erp: S4HanaClient

    async def faults(self, *rules: dict[str, Any], seed: int = 0) -> None:
        """Replace the ERP sandbox's fault plan."""
        plan = {"seed": seed, "rules": list(rules)}
        (await self.erp_admin.put("/sandbox/admin/faults", json=plan)).raise_for_status()

    async def injected(self) -> int:
        """How many faults the ERP sandbox injected since its plan was last set."""
        response = await self.erp_admin.get("/sandbox/admin/faults")
        return sum(response.json()["injected"].values())

    async def heal(self) -> None:
        """Remove every fault rule."""
        (await self.erp_admin.delete("/sandbox/admin/faults")).raise_for_status()


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)
    policies.clear()


@pytest.fixture
async def deployed() -> AsyncIterator[Deployed]:
    """The System layer built by the composition root, both sandboxes on local ports."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(serving(create_crm()))
        erp_url = await stack.enter_async_context(serving(create_erp()))
        settings = Settings(
            salesforce={"base_url": crm_url},
            s4hana={
                "base_url": f"{erp_url}/sap/opu/odata/sap",
                "resilience": {
                    "retry_attempts": 6,
                    "breaker_threshold": 3,
                    "breaker_reset_timeout": BREAKER_RESET,
                },
            },
            observability={"analytics": False},
        )
        house = await stack.enter_async_context(open_house(settings, layers={Layer.SYSTEM}))
        system = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://system"
        )
        admin = httpx.AsyncClient(base_url=erp_url, auth=AUTH)
        erp = S4HanaClient(
            base_url=f"{erp_url}/sap/opu/odata/sap", username=AUTH[0], password=AUTH[1]
        )
        for client in (system, admin, erp):
            stack.push_async_callback(client.aclose)
        for sku, name in (("LB-100", "Ledger Appliance"), ("LB-300", "Support Plan")):
            await erp.create("API_PRODUCT_SRV", "A_Product", s4_product(sku, name))
        yield Deployed(system=system, erp_admin=admin, erp=erp)
