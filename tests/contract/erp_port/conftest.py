"""Fixtures for the ERP port contract: each adapter over its backend, with the same catalog.

S/4HANA is the sandbox in memory (over ASGI); Tryton is a real trytond serving a copy of the
ready template, one server per test module. Both know the products LB-100 and LB-300.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ledgerbridge.apis.system._erp import ErpPort, S4HanaErp, TrytonErp
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.tryton import TrytonClient
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.sandboxes.erp import create_app as create_erp
from ledgerbridge.tryton_setup import (
    INTEGRATION_LOGIN,
    INTEGRATION_PASSWORD,
    PAYMENT_TERM_NAME,
    PRODUCTS,
    TrytonServer,
    start_ready_server,
    tryton_installed,
)

CACHE = Path(__file__).resolve().parents[3] / "var" / "tryton"
SKUS = ("LB-100", "LB-300")
"""Products both ERPs know: in the Tryton template, and created in the sandbox per test."""


def crm_id(prefix: str) -> str:
    """A CRM-style id (or reference) unique to this test run."""
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


@pytest.fixture(scope="module")
def tryton_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[TrytonServer]:
    """trytond serving a fresh copy of the template database, for one test module."""
    if not tryton_installed():
        pytest.skip("Tryton is not installed: pip install -e '.[tryton]' to run these tests")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    started = time.monotonic()

    def progress(done: int, total: int, what: str) -> None:
        # Only a template build reports progress: say what the wait is for, past capture.
        if reporter is None or capture is None:
            return
        with capture.global_and_fixture_disabled():
            elapsed = time.monotonic() - started
            reporter.write_line(f"tryton template [{done}/{total}] {what} ({elapsed:.1f} s)")

    with start_ready_server(CACHE, tmp_path_factory.mktemp("tryton"), progress=progress) as server:
        yield server


async def _s4hana() -> ErpPort:
    client = S4HanaClient(
        base_url="http://erp.test/sap/opu/odata/sap",
        username="LEDGERBRIDGE",
        password="sandbox-secret",
        transport=httpx.ASGITransport(app=create_erp()),
    )
    names = {product.code: product.name for product in PRODUCTS}
    for sku in SKUS:
        await client.create("API_PRODUCT_SRV", "A_Product", s4_product(sku, names[sku]))
    return S4HanaErp(client)


def _tryton(server: TrytonServer) -> ErpPort:
    return TrytonErp(
        TrytonClient(
            base_url=server.base_url,
            database=server.database,
            username=INTEGRATION_LOGIN,
            password=INTEGRATION_PASSWORD,
        ),
        payment_term=PAYMENT_TERM_NAME,
    )


@pytest.fixture(params=["s4hana", pytest.param("tryton", marks=pytest.mark.slow)])
async def erp(request: pytest.FixtureRequest) -> AsyncIterator[ErpPort]:
    """The ERP port on the S/4HANA sandbox, then on a real Tryton."""
    adapter = (
        await _s4hana()
        if request.param == "s4hana"
        else _tryton(request.getfixturevalue("tryton_server"))
    )
    try:
        yield adapter
    finally:
        await adapter.aclose()
