"""A whole house over both sandboxes, with tracing into memory and a clock tests can move."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.house import House
from ledgerbridge.runtime.observability import configure_tracing
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

_SPANS = InMemorySpanExporter()


@pytest.fixture(scope="session")
def _tracing() -> InMemorySpanExporter:
    configure_tracing(processors=(SimpleSpanProcessor(_SPANS),))
    return _SPANS


@pytest.fixture
def spans(_tracing: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    """Every span finished during the test, and none from before."""
    _tracing.clear()
    yield _tracing
    _tracing.clear()


@dataclass
class Deployed:
    """A house embedded in the test, its sandboxes, and a client to it."""

    house: House
    http: httpx.AsyncClient
    crm: SalesforceClient
    erp: S4HanaClient
    settings: Settings


@pytest.fixture
async def deployed(spans: InMemorySpanExporter, tmp_path: Path) -> AsyncIterator[Deployed]:
    """Both sandboxes on ports, every layer in one house, tracing on."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp_path / "crm.sqlite3")))
        )
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}",
            salesforce={"base_url": crm_url},
            s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap"},
            observability={"analytics_flush_seconds": 3600},
        )
        house = await stack.enter_async_context(open_house(settings))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=house.app), base_url="http://t")
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        erp = S4HanaClient(
            base_url=f"{erp_url}/sap/opu/odata/sap",
            username=settings.s4hana.username,
            password=settings.s4hana.password.get_secret_value(),
        )
        for client in (http, crm, erp):
            stack.push_async_callback(client.aclose)
        yield Deployed(house=house, http=http, crm=crm, erp=erp, settings=settings)


async def crm_order(deployed: Deployed) -> str:
    """A one-line order of a new account in the CRM, its product also in the ERP; its id."""
    code = f"FX-{uuid.uuid4().hex[:8].upper()}"
    await deployed.erp.create("API_PRODUCT_SRV", "A_Product", s4_product(code, "FX hedging"))
    crm = deployed.crm
    account = await crm.create(
        "Account",
        {
            "Name": "Meridian Capital Partners",
            "BillingStreet": "12 Taunusanlage",
            "BillingCity": "Frankfurt am Main",
            "BillingPostalCode": "60325",
            "BillingCountry": "DE",
            "CurrencyIsoCode": "EUR",
        },
    )
    product = await crm.create(
        "Product2",
        {
            "Name": "FX hedging",
            "ProductCode": code,
            "IsActive": True,
            "QuantityUnitOfMeasure": "Each",
        },
    )
    order = await crm.create(
        "Order",
        {
            "AccountId": account,
            "EffectiveDate": "2026-11-20",
            "Status": "Draft",
            "CurrencyIsoCode": "EUR",
        },
    )
    for quantity in (3, 2):
        await crm.create(
            "OrderItem",
            {"OrderId": order, "Product2Id": product, "Quantity": quantity, "UnitPrice": "199.90"},
        )
    return order


async def run_order(deployed: Deployed) -> str:
    """A CRM order taken through order-to-cash; its CRM id."""
    order = await crm_order(deployed)
    response = await deployed.http.post(
        "/process/order-to-cash/v1/orders", json={"crm_order_id": order}
    )
    assert response.status_code == 201, response.text
    return order
