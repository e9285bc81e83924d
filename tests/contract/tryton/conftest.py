"""Fixtures for the Tryton contract tests: a real trytond on a copy of the ready template.

The template is built once per machine under var/tryton (about 20 s); each test module
then gets its own copy and its own server (about 1 s). Skips only when Tryton is not
installed, and says so.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerbridge.connectors.tryton import TrytonClient, TrytonRecord
from ledgerbridge.tryton_setup import (
    CUSTOMERS,
    INTEGRATION_LOGIN,
    INTEGRATION_PASSWORD,
    PAYMENT_TERM_NAME,
    TrytonServer,
    start_ready_server,
    tryton_installed,
)

CACHE = Path(__file__).resolve().parents[3] / "var" / "tryton"


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

    directory = tmp_path_factory.mktemp("tryton")
    with start_ready_server(CACHE, directory, "erp", progress=progress) as server:
        yield server


@pytest.fixture
async def tryton(tryton_server: TrytonServer) -> AsyncIterator[TrytonClient]:
    """Our connector logged in as the integration user."""
    async with TrytonClient(
        base_url=tryton_server.base_url,
        database=tryton_server.database,
        username=INTEGRATION_LOGIN,
        password=INTEGRATION_PASSWORD,
    ) as client:
        yield client


def crm_id(prefix: str) -> str:
    """A CRM-style id unique to this test run."""
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


@dataclass(frozen=True)
class SaleFixtures:
    """What a sale needs: a customer with its address, a product, the payment term."""

    party: TrytonRecord
    product: TrytonRecord
    payment_term: int

    def sale(self, reference: str, quantity: Decimal | int) -> dict[str, Any]:
        """The values of a sale of ``quantity`` units at list price, keyed by ``reference``."""
        address = self.party["addresses"][0]
        return {
            "party": self.party.id,
            "invoice_address": address,
            "shipment_address": address,
            "payment_term": self.payment_term,
            "reference": reference,
            "lines": [
                [
                    "create",
                    [
                        {
                            "type": "line",
                            "product": self.product.id,
                            "quantity": quantity,
                            "unit": self.product["default_uom"],
                            "unit_price": self.product["list_price_used"],
                        }
                    ],
                ]
            ],
        }


async def sale_fixtures(tryton: TrytonClient, customer_crm_id: str) -> SaleFixtures:
    """Look up a demo customer by CRM id, the first demo product and the payment term."""
    party = await tryton.find_party_by_identifier(customer_crm_id, ["name", "addresses"])
    assert party is not None
    [product] = await tryton.search_read(
        "product.product", [["code", "=", "LB-100"]], ["default_uom", "list_price_used"]
    )
    [term] = await tryton.search("account.invoice.payment_term", [["name", "=", PAYMENT_TERM_NAME]])
    return SaleFixtures(party=party, product=product, payment_term=term)


@pytest.fixture
async def acme(tryton: TrytonClient) -> SaleFixtures:
    """Selling to ACME Corp, the demo customer with a 1000.00 credit limit."""
    return await sale_fixtures(tryton, CUSTOMERS[0].crm_id)


@pytest.fixture
async def globex(tryton: TrytonClient) -> SaleFixtures:
    """Selling to Globex Inc, the demo customer with a 50000.00 credit limit."""
    return await sale_fixtures(tryton, CUSTOMERS[1].crm_id)
