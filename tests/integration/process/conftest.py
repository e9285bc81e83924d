"""The System and Process layers over both sandboxes, with the workers off: tests drive the
advancer themselves, round by round."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash.advancer import CaseAdvancer
from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.runtime.store import Store
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

O2C = "/process/order-to-cash/v1"
# One try per backend call and a breaker that never opens: a fault shows at once.
ONE_TRY = {"retry_attempts": 1, "breaker_threshold": 1000}


@dataclass
class Saga:
    """A house without workers, the Process layer's own dependencies, and the sandboxes."""

    http: httpx.AsyncClient
    deps: ProcessDeps
    crm: SalesforceClient
    erp: S4HanaClient
    crm_admin: httpx.AsyncClient
    erp_admin: httpx.AsyncClient

    def advancer(self) -> CaseAdvancer:
        """A fresh advancer over this house that runs stalled starts again at once."""
        return CaseAdvancer(self.deps, retry_after=timedelta(0), sweep_every=1)

    async def order(self, quantity: int = 2, *, product_in_erp: bool = True) -> dict[str, str]:
        """An account and an order of ``quantity`` x 150.00 EUR in the CRM."""
        code = f"CUSTODY-{uuid.uuid4().hex[:8].upper()}"
        if product_in_erp:
            await self.erp.create("API_PRODUCT_SRV", "A_Product", s4_product(code, "Custody"))
        account = await self.crm.create(
            "Account",
            {
                "Name": "Quayside Trust",
                "BillingStreet": "3 Quayside",
                "BillingCity": "Bremen",
                "BillingPostalCode": "28195",
                "BillingCountry": "DE",
                "CurrencyIsoCode": "EUR",
            },
        )
        product = await self.crm.create(
            "Product2", {"Name": "Custody", "ProductCode": code, "IsActive": True}
        )
        order = await self.crm.create(
            "Order",
            {
                "AccountId": account,
                "EffectiveDate": "2026-11-20",
                "Status": "Draft",
                "CurrencyIsoCode": "EUR",
            },
        )
        await self.crm.create(
            "OrderItem",
            {"OrderId": order, "Product2Id": product, "Quantity": quantity, "UnitPrice": "150.00"},
        )
        return {"account": account, "order": order, "sku": code}

    async def credit_limit(self, account_id: str, limit: str) -> None:
        """The account as an ERP customer with a credit limit, through the System layer."""
        party = (await self.http.get(f"/system/crm-accounts/v1/accounts/{account_id}")).json()
        customer = await self.http.post("/system/erp-customers/v1/customers", json=party)
        assert customer.is_success, customer.text
        credit = await self.http.post(
            "/system/erp-credit/v1/credit-limits",
            json={
                "customer_erp_id": customer.json()["erp_id"],
                "credit_segment": "1000",
                "limit": {"amount": limit, "currency": "EUR"},
            },
        )
        assert credit.is_success, credit.text

    async def case(self, order_id: str) -> dict[str, Any]:
        """The case of a CRM order, read over HTTP."""
        response = await self.http.get(f"{O2C}/orders/{order_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def bill_and_pay(self, case: dict[str, Any]) -> None:
        """The ERP delivers the order, bills it and receives the payment of its invoice."""
        number = case["erp_order_number"]
        assert (
            await self.erp_admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")
        ).is_success
        assert (await self.erp_admin.post("/sandbox/admin/billing-run")).is_success
        (invoice,) = await self.erp.query(
            "API_BILLING_DOCUMENT_SRV",
            "A_BillingDocument",
            filter=f"PurchaseOrderByCustomer eq '{case['crm_order_id']}'",
        )
        await self.erp.create(
            "ZLB_INCOMING_PAYMENT_SRV",
            "IncomingPayment",
            {
                "Customer": case["customer_erp_id"],
                "AmountInTransactionCurrency": str(invoice.properties["TotalGrossAmount"]),
                "BillingDocument": invoice.properties["BillingDocument"],
            },
        )


@contextlib.asynccontextmanager
async def open_saga(database_url: str, tmp_path: Path) -> AsyncIterator[Saga]:
    """Fresh sandboxes and a store on ``database_url``, with the System and Process layers and
    no workers; the System APIs retry once, so outages show at once."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp_path / "crm.sqlite3")))
        )
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        settings = Settings(
            database_url=database_url,
            salesforce={"base_url": crm_url, "resilience": ONE_TRY},
            s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap", "resilience": ONE_TRY},
            process={"workers": False},
        )
        house = await stack.enter_async_context(
            open_house(settings, layers={Layer.SYSTEM, Layer.PROCESS})
        )
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=house.app), base_url="http://h")
        store = Store(settings.database_url)
        stack.push_async_callback(store.dispose)
        auth = (settings.s4hana.username, settings.s4hana.password.get_secret_value())
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        erp = S4HanaClient(base_url=settings.s4hana.base_url, username=auth[0], password=auth[1])
        erp_admin = httpx.AsyncClient(base_url=erp_url, auth=auth)
        crm_admin = httpx.AsyncClient(
            base_url=crm_url,
            auth=(
                settings.salesforce.client_id,
                settings.salesforce.client_secret.get_secret_value(),
            ),
        )
        for client in (http, crm, erp, crm_admin, erp_admin):
            stack.push_async_callback(client.aclose)
        yield Saga(
            http=http,
            deps=ProcessDeps(store=store, system=http),
            crm=crm,
            erp=erp,
            crm_admin=crm_admin,
            erp_admin=erp_admin,
        )


@pytest.fixture
async def saga(tmp_path: Path) -> AsyncIterator[Saga]:
    """The saga's house on a SQLite file (see `open_saga`)."""
    async with open_saga(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}", tmp_path) as opened:
        yield opened
