"""crm-orders through the CRM's resilience policy, with no CRM listening."""

from __future__ import annotations

import contextlib
import socket

import httpx

from ledgerbridge.bootstrap import open_house
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.erp import create_app as create_erp

ORDER = "/system/crm-orders/v2/orders/801000000000001AAA"


def nobody_listening() -> str:
    """The URL of a local port that was free a moment ago: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_crm_down_opens_its_breaker_and_fails_fast_with_retry_after() -> None:
    """With the CRM unreachable, two failed reads open its breaker; the third is 503 with
    Retry-After, and the ERP's breaker is untouched."""
    async with contextlib.AsyncExitStack() as stack:
        erp_url = await stack.enter_async_context(serving(create_erp()))
        settings = Settings(
            salesforce={
                "base_url": nobody_listening(),
                "resilience": {"retry_attempts": 2, "breaker_threshold": 2},
            },
            s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap"},
            observability={"analytics": False},
        )
        house = await stack.enter_async_context(open_house(settings, layers={Layer.SYSTEM}))
        system = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://system"
        )
        stack.push_async_callback(system.aclose)
        for _ in range(2):
            down = await system.get(ORDER)
            assert (down.status_code, "retry-after" in down.headers) == (503, False)
        fast = await system.get(ORDER)
        assert fast.status_code == 503
        assert int(fast.headers["retry-after"]) >= 29  # the default 30 s reset timeout
        assert "circuit breaker open" in fast.json()["detail"]
        breakers = (await system.get("/system/backend-health/v1/breakers")).json()["breakers"]
        states = {b["backend"]: (b["state"], b["failures"]) for b in breakers}
        assert states == {"s4hana": ("closed", 0), "salesforce": ("open", 2)}
