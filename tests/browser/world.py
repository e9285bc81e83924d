"""A whole house over the two sandboxes, for the Experience tests (e2e and browser).

The ERP sandbox is served in a context of its own, so a test can stop it and see what the
consumers get when the ERP is down.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.house import House
from ledgerbridge.runtime.settings import AuthSettings, Settings
from ledgerbridge.runtime.store import Store
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

ERP_USER = "LEDGERBRIDGE"
ERP_PASSWORD = "sandbox-secret"
# One try per call and a breaker that stays closed: a test of an outage sees it at once.
FAST_FAILURE = {"retry_attempts": 1, "breaker_threshold": 1000, "call_timeout": 5.0}


@dataclass(frozen=True)
class Customer:
    """A customer known to both systems."""

    crm_id: str
    erp_id: str
    po: str
    number: str


@dataclass
class World:
    """The house, a client to it, and back doors to both sandboxes for setting the scene."""

    house: House
    store: Store
    api: httpx.AsyncClient
    crm: SalesforceClient
    s4: S4HanaClient
    erp_admin: httpx.AsyncClient
    erp_stop: contextlib.AsyncExitStack
    products: set[str] = field(default_factory=set)

    async def stop_erp(self) -> None:
        """Take the ERP sandbox off the network."""
        await self.erp_stop.aclose()

    async def product(self, sku: str = "MAT") -> None:
        """A product the ERP sells."""
        if sku in self.products:
            return
        await self.s4.create(
            "API_PRODUCT_SRV",
            "A_Product",
            {
                "Product": sku,
                "BaseUnit": "EA",
                "to_Description": [{"Language": "EN", "ProductDescription": f"{sku} widget"}],
            },
        )
        self.products.add(sku)

    async def customer(self, name: str = "Meridian Capital") -> Customer:
        """A business partner in the ERP and its account in the CRM, linked by ids."""
        suffix = uuid.uuid4().hex[:8].upper()
        account_id = await self.crm.create(
            "Account",
            {
                "Name": name,
                "AccountNumber": f"CUST-{suffix}",
                "BillingStreet": "12 Taunusanlage",
                "BillingCity": "Frankfurt am Main",
                "BillingPostalCode": "60325",
                "BillingCountry": "DE",
                "CurrencyIsoCode": "EUR",
            },
        )
        created = await self.s4.create(
            "API_BUSINESS_PARTNER",
            "A_BusinessPartner",
            {
                "BusinessPartnerCategory": "2",
                "OrganizationBPName1": name,
                "BusinessPartnerIDByExtSystem": account_id,
                "to_BusinessPartnerAddress": [
                    {
                        "StreetName": "Taunusanlage 12",
                        "PostalCode": "60325",
                        "CityName": "Frankfurt",
                        "Country": "DE",
                    }
                ],
                "to_Customer": {"CustomerName": name},
            },
        )
        erp_id = str(created.properties["BusinessPartner"])
        await self.crm.update("Account", account_id, {"ERP_Customer_Id__c": erp_id})
        return Customer(
            crm_id=account_id, erp_id=erp_id, po=f"PO-{suffix}", number=f"CUST-{suffix}"
        )

    async def crm_order(
        self, customer: Customer, *, quantity: int = 3, price: str = "199.90"
    ) -> str:
        """A draft order of the customer in the CRM for one product the ERP also knows."""
        sku = f"FX-{uuid.uuid4().hex[:8].upper()}"
        await self.product(sku)
        product_id = await self.crm.create(
            "Product2",
            {
                "Name": "FX hedging",
                "ProductCode": sku,
                "IsActive": True,
                "QuantityUnitOfMeasure": "Each",
            },
        )
        order_id = await self.crm.create(
            "Order",
            {
                "AccountId": customer.crm_id,
                "EffectiveDate": "2026-11-20",
                "Status": "Draft",
                "CurrencyIsoCode": "EUR",
                "PoNumber": customer.po,
            },
        )
        await self.crm.create(
            "OrderItem",
            {
                "OrderId": order_id,
                "Product2Id": product_id,
                "Quantity": quantity,
                "UnitPrice": price,
            },
        )
        return order_id

    async def start_order(self, order_id: str) -> dict[str, Any]:
        """Send a CRM order through order-to-cash; its case."""
        started = await self.api.post(
            "/process/order-to-cash/v1/orders", json={"crm_order_id": order_id}
        )
        started.raise_for_status()
        case: dict[str, Any] = started.json()
        return case

    async def deliver_bill_and_pay(self, case: dict[str, Any]) -> None:
        """The ERP's part of an order: deliver it, bill it, and post the customer's payment."""
        number = case["erp_order_number"]
        delivered = await self.erp_admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")
        delivered.raise_for_status()
        (await self.erp_admin.post("/sandbox/admin/billing-run")).raise_for_status()
        (invoice,) = await self.s4.query(
            "API_BILLING_DOCUMENT_SRV",
            "A_BillingDocument",
            filter=f"PurchaseOrderByCustomer eq '{case['crm_order_id']}'",
        )
        document = str(invoice.properties["BillingDocument"])
        await self.s4.create(
            "ZLB_INCOMING_PAYMENT_SRV",
            "IncomingPayment",
            {
                "Customer": case["customer_erp_id"],
                "AmountInTransactionCurrency": str(invoice.properties["TotalGrossAmount"]),
                "BillingDocument": document,
                "PaymentReference": f"PAY-{document}",
            },
        )

    async def case(self, customer: Customer, subject: str, *, status: str = "New") -> str:
        """A service case of the customer in the CRM."""
        return await self.crm.create(
            "Case", {"AccountId": customer.crm_id, "Subject": subject, "Status": status}
        )

    async def credit_limit(self, customer: Customer, amount: str) -> None:
        """The customer's credit limit in segment 1000, through the System layer."""
        body: dict[str, Any] = {
            "customer_erp_id": customer.erp_id,
            "credit_segment": "1000",
            "limit": {"amount": amount, "currency": "EUR"},
        }
        answer = await self.api.post("/system/erp-credit/v1/credit-limits", json=body)
        answer.raise_for_status()

    async def priced_product(self, sku: str, price: str, *, active: bool = True) -> None:
        """A product in the ERP with a PR00 price valid from 2020, through the System layer."""
        product = {"sku": sku, "name": f"{sku} service", "unit": "EA", "active": active}
        (await self.api.post("/system/erp-products/v1/products", json=product)).raise_for_status()
        condition = {
            "product_sku": sku,
            "sales_organization": "1010",
            "distribution_channel": "10",
            "unit_price": {"amount": price, "currency": "EUR"},
            "unit": "EA",
            "valid_from": "2020-01-01",
        }
        (await self.api.post("/system/erp-pricing/v1/prices", json=condition)).raise_for_status()

    async def invoice(self, customer: Customer, *, price: str = "100.00") -> str:
        """Two units of MAT at ``price`` ordered in the ERP, delivered and billed; the
        invoice number."""
        await self.product()
        order = await self.s4.create(
            "API_SALES_ORDER_SRV",
            "A_SalesOrder",
            {
                "SalesOrderType": "OR",
                "SalesOrganization": "1010",
                "DistributionChannel": "10",
                "OrganizationDivision": "00",
                "SoldToParty": customer.erp_id,
                "PurchaseOrderByCustomer": customer.po,
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
        delivered = await self.erp_admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")
        delivered.raise_for_status()
        (await self.erp_admin.post("/sandbox/admin/billing-run")).raise_for_status()
        documents: list[Any] = await self.s4.query(
            "API_BILLING_DOCUMENT_SRV",
            "A_BillingDocument",
            filter=f"PurchaseOrderByCustomer eq '{customer.po}' and BillingDocumentType eq 'F2'",
            orderby="BillingDocument desc",
            top=1,
        )
        return str(documents[0].properties["BillingDocument"])


@contextlib.asynccontextmanager
async def open_world(
    tmp: Path,
    *,
    erp_latency_ms: int = 0,
    page_origin: str | None = None,
    auth_mode: Literal["off", "jwt"] = "off",
) -> AsyncIterator[World]:
    """Both sandboxes on local ports and the embedded house in front of them; the pages'
    sign-in returns to ``page_origin`` (where the house will be served) when given, and
    ``auth_mode`` "jwt" makes every API ask for tokens."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp / "crm.sqlite3")))
        )
        erp_stop = contextlib.AsyncExitStack()
        stack.push_async_callback(erp_stop.aclose)
        erp_url = await erp_stop.enter_async_context(
            serving(create_erp(database=str(tmp / "erp.sqlite3")))
        )
        odata = f"{erp_url}/sap/opu/odata/sap"
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp / 'store.sqlite3'}",
            salesforce={"base_url": crm_url, "resilience": FAST_FAILURE},
            s4hana={"base_url": odata, "resilience": FAST_FAILURE},
            # The case advancer looks at the ERP often, so orders move within a test.
            process={"advance_interval": 0.1, "relay_interval": 0.05},
            auth_mode=auth_mode,
        )
        if page_origin is not None:
            callback = f"{page_origin}/experience/web/v1/signin/callback"
            settings.auth = AuthSettings(page_redirect_uris=(callback,))
        house = await stack.enter_async_context(open_house(settings))
        # The house's store, opened again for the Experience APIs a test builds on its own.
        store = Store(settings.database_url)
        stack.push_async_callback(store.dispose)
        api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://house", timeout=30
        )
        stack.push_async_callback(api.aclose)
        defaults = Settings()
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=defaults.salesforce.client_id,
            client_secret=defaults.salesforce.client_secret.get_secret_value(),
        )
        stack.push_async_callback(crm.aclose)
        s4 = await stack.enter_async_context(
            S4HanaClient(base_url=odata, username=ERP_USER, password=ERP_PASSWORD)
        )
        erp_admin = httpx.AsyncClient(base_url=erp_url, auth=(ERP_USER, ERP_PASSWORD))
        stack.push_async_callback(erp_admin.aclose)
        if erp_latency_ms:
            plan = {"rules": [{"route": "/sap/*", "latency_ms": erp_latency_ms}]}
            (await erp_admin.put("/sandbox/admin/faults", json=plan)).raise_for_status()
        yield World(
            house=house,
            store=store,
            api=api,
            crm=crm,
            s4=s4,
            erp_admin=erp_admin,
            erp_stop=erp_stop,
        )
