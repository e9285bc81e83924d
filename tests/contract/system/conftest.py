"""The ERP System APIs over HTTP against the ERP sandbox on a local port, through the house."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.erp import create_app as create_erp

USER = "LEDGERBRIDGE"
PASSWORD = "sandbox-secret"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class ErpWorld:
    """The System layer, and a back door to the same ERP for setting the scene."""

    api: httpx.AsyncClient
    s4: S4HanaClient
    admin: httpx.AsyncClient

    async def product(self, sku: str) -> None:
        """A product that orders may use."""
        await self.s4.create(
            "API_PRODUCT_SRV",
            "A_Product",
            {
                "Product": sku,
                "BaseUnit": "EA",
                "to_Description": [{"Language": "EN", "ProductDescription": f"{sku} widget"}],
            },
        )

    async def customer(self, external_id: str = "001A000001") -> str:
        """A business partner with the customer role; its number."""
        created = await self.s4.create(
            "API_BUSINESS_PARTNER",
            "A_BusinessPartner",
            {
                "BusinessPartnerCategory": "2",
                "OrganizationBPName1": "Meridian Capital",
                "BusinessPartnerIDByExtSystem": external_id,
                "to_BusinessPartnerAddress": [
                    {"StreetName": "Taunusanlage 12", "CityName": "Frankfurt", "Country": "DE"}
                ],
                "to_Customer": {"CustomerName": "Meridian Capital"},
            },
        )
        return str(created.properties["BusinessPartner"])

    async def invoice(self, customer: str, *, price: str = "100.00", po: str = "PO-1") -> str:
        """An order of two units of MAT at ``price`` each, delivered and billed; the invoice."""
        order = await self.s4.create(
            "API_SALES_ORDER_SRV",
            "A_SalesOrder",
            {
                "SalesOrderType": "OR",
                "SalesOrganization": "1010",
                "DistributionChannel": "10",
                "OrganizationDivision": "00",
                "SoldToParty": customer,
                "PurchaseOrderByCustomer": po,
                "TransactionCurrency": "EUR",
                "to_Item": [
                    {
                        "Material": "MAT",
                        "RequestedQuantity": "2",
                        "RequestedQuantityUnit": "EA",
                        "to_PricingElement": [
                            {"ConditionType": "PR00", "ConditionRateValue": price}
                        ],
                    }
                ],
            },
        )
        number = str(order.properties["SalesOrder"])
        (await self.admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")).raise_for_status()
        billed = await self.admin.post("/sandbox/admin/billing-run")
        billed.raise_for_status()
        documents: list[Any] = await self.s4.query(
            "API_BILLING_DOCUMENT_SRV",
            "A_BillingDocument",
            filter=f"PurchaseOrderByCustomer eq '{po}' and BillingDocumentType eq 'F2'",
            orderby="BillingDocument desc",
            top=1,
        )
        return str(documents[0].properties["BillingDocument"])


@contextlib.asynccontextmanager
async def open_world(tmp_path: Path, **s4hana: Any) -> AsyncIterator[ErpWorld]:
    """A fresh ERP sandbox on a local port and the System layer in front of it.

    ``s4hana`` adds to the ERP's settings (its resilience, say).
    """
    async with contextlib.AsyncExitStack() as stack:
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        odata = f"{erp_url}/sap/opu/odata/sap"
        settings = Settings(s4hana={"base_url": odata, **s4hana})
        house = await stack.enter_async_context(open_house(settings, layers={Layer.SYSTEM}))
        api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://house"
        )
        stack.push_async_callback(api.aclose)
        s4 = await stack.enter_async_context(
            S4HanaClient(base_url=odata, username=USER, password=PASSWORD)
        )
        admin = httpx.AsyncClient(base_url=erp_url, auth=(USER, PASSWORD))
        stack.push_async_callback(admin.aclose)
        yield ErpWorld(api=api, s4=s4, admin=admin)


@pytest.fixture
async def erp(tmp_path: Path) -> AsyncIterator[ErpWorld]:
    """A fresh ERP sandbox on a local port and the System layer in front of it."""
    async with open_world(tmp_path) as world:
        yield world
