"""Fixtures for the ERP sandbox contract tests: the app, our connector, raw HTTP, uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.sandboxes.erp import create_app

USER = "LEDGERBRIDGE"
PASSWORD = "sandbox-secret"
ROOT = "http://erp.test/sap/opu/odata/sap"


@pytest.fixture
def erp_app() -> FastAPI:
    """A fresh sandbox on an in-memory database."""
    return create_app(username=USER, password=PASSWORD)


@pytest.fixture
async def s4(erp_app: FastAPI) -> AsyncIterator[S4HanaClient]:
    """Our connector talking to the sandbox through the ASGI transport."""
    async with S4HanaClient(
        base_url=ROOT,
        username=USER,
        password=PASSWORD,
        transport=httpx.ASGITransport(app=erp_app),
    ) as client:
        yield client


@pytest.fixture
async def http(erp_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client for protocol-level checks (JSON accepted, authenticated)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=erp_app),
        base_url=ROOT,
        auth=(USER, PASSWORD),
        headers={"Accept": "application/json"},
    ) as client:
        yield client


async def _csrf_token(http: httpx.AsyncClient, service: str = "API_BUSINESS_PARTNER") -> str:
    """Fetch a CSRF token on the client's session."""
    response = await http.get(f"/{service}/", headers={"X-CSRF-Token": "Fetch"})
    return response.headers["X-CSRF-Token"]


def _partner_payload(name: str = "Acme Corp", external_id: str = "001A000001") -> dict[str, Any]:
    """A business partner with one address and the customer role, as a deep insert."""
    return {
        "BusinessPartnerCategory": "2",
        "OrganizationBPName1": name,
        "BusinessPartnerIDByExtSystem": external_id,
        "to_BusinessPartnerAddress": {
            "results": [
                {
                    "StreetName": "Main Street 1",
                    "CityName": "Berlin",
                    "PostalCode": "10115",
                    "Region": "BE",
                    "Country": "DE",
                }
            ]
        },
        "to_Customer": {"CustomerName": name},
    }


def _order_payload(sold_to: str, *, prices: tuple[str, ...] = ("10.50",)) -> dict[str, Any]:
    """A standard order with one item per price, each priced through PR00."""
    return {
        "SalesOrderType": "OR",
        "SalesOrganization": "1010",
        "DistributionChannel": "10",
        "OrganizationDivision": "00",
        "SoldToParty": sold_to,
        "ExternalDocumentID": "801A000001",
        "PurchaseOrderByCustomer": "PO-1",
        "TransactionCurrency": "EUR",
        "to_Item": [
            {
                "Material": f"MAT-{index}",
                "SalesOrderItemText": f"Item {index}",
                "RequestedQuantity": "2",
                "RequestedQuantityUnit": "EA",
                "to_PricingElement": [{"ConditionType": "PR00", "ConditionRateValue": price}],
            }
            for index, price in enumerate(prices, start=1)
        ],
    }


PayloadFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def partner_payload() -> PayloadFactory:
    """Builds business partner deep-insert payloads."""
    return _partner_payload


@pytest.fixture
def order_payload() -> PayloadFactory:
    """Builds sales order deep-insert payloads."""
    return _order_payload


@pytest.fixture
def csrf_token() -> Callable[..., Awaitable[str]]:
    """Fetches a CSRF token on a raw client's session."""
    return _csrf_token


MATERIALS = ("MAT", "MAT-1", "MAT-2", "MAT-3")


@pytest.fixture
async def products(s4: S4HanaClient) -> tuple[str, ...]:
    """Products MAT and MAT-1..MAT-3 exist, so orders may use them."""
    for material in MATERIALS:
        await s4.create(
            "API_PRODUCT_SRV",
            "A_Product",
            {
                "Product": material,
                "BaseUnit": "EA",
                "to_Description": [{"Language": "EN", "ProductDescription": f"{material} widget"}],
            },
        )
    return MATERIALS


@pytest.fixture
async def customer(s4: S4HanaClient, products: tuple[str, ...]) -> str:
    """An existing business partner with the customer role; yields its number."""
    created = await s4.create("API_BUSINESS_PARTNER", "A_BusinessPartner", _partner_payload())
    return str(created.properties["BusinessPartner"])


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """Starts ASGI apps under uvicorn (lifespan on) in threads; returns each one's base URL."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: FastAPI) -> str:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def erp_server(serve: Callable[[FastAPI], str]) -> str:
    """The sandbox on a real socket; yields the OData root URL."""
    return serve(create_app(username=USER, password=PASSWORD)) + "/sap/opu/odata/sap"
