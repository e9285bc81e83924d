"""The house for the billing and cash-application tests: the System and Process layers over
both sandboxes, on each store database (SQLite, then PostgreSQL), with the workers off; and
a customer whose orders the ERP has billed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.process.conftest import O2C, Saga, open_saga

from ledgerbridge.demo.seed import s4_product


@pytest.fixture
async def house(database_url: str, tmp_path: Path) -> AsyncIterator[Saga]:
    """The saga's house on each store database (SQLite, then PostgreSQL)."""
    async with open_saga(database_url, tmp_path) as opened:
        yield opened


class Customer:
    """An account in the CRM, known to the ERP with a generous credit limit, whose orders
    go through order-to-cash and get billed by the ERP."""

    def __init__(self, house: Saga, account: str, product: str, erp_id: str) -> None:
        self.house = house
        self.account = account
        self.product = product
        self.erp_id = erp_id

    @classmethod
    async def create(cls, house: Saga) -> Customer:
        """A new account and product in the CRM, and the account as an ERP customer."""
        code = f"FEE-{uuid.uuid4().hex[:8].upper()}"
        await house.erp.create("API_PRODUCT_SRV", "A_Product", s4_product(code, "Advisory fee"))
        account = await house.crm.create(
            "Account",
            {
                "Name": "Harbour Capital",
                "BillingStreet": "1 Pier",
                "BillingCity": "Hamburg",
                "BillingPostalCode": "20457",
                "BillingCountry": "DE",
                "CurrencyIsoCode": "EUR",
            },
        )
        product = await house.crm.create(
            "Product2", {"Name": "Advisory fee", "ProductCode": code, "IsActive": True}
        )
        await house.credit_limit(account, "1000000.00")
        party = (await house.http.get(f"/system/crm-accounts/v1/accounts/{account}")).json()
        customer = await house.http.post("/system/erp-customers/v1/customers", json=party)
        return cls(house, account, product, customer.json()["erp_id"])

    async def billed_order(self, unit_price: str) -> dict[str, str]:
        """An order of one item at ``unit_price`` through order-to-cash, delivered and billed:
        its CRM order id, ERP order number, invoice number and the invoice's gross amount."""
        order = await self.house.crm.create(
            "Order",
            {
                "AccountId": self.account,
                "EffectiveDate": "2026-11-20",
                "Status": "Draft",
                "CurrencyIsoCode": "EUR",
            },
        )
        await self.house.crm.create(
            "OrderItem",
            {"OrderId": order, "Product2Id": self.product, "Quantity": 1, "UnitPrice": unit_price},
        )
        started = await self.house.http.post(f"{O2C}/orders", json={"crm_order_id": order})
        assert started.status_code == 201, started.text
        number = started.json()["erp_order_number"]
        admin = self.house.erp_admin
        assert (await admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")).is_success
        assert (await admin.post("/sandbox/admin/billing-run")).is_success
        (invoice,) = await self.house.erp.query(
            "API_BILLING_DOCUMENT_SRV",
            "A_BillingDocument",
            filter=f"PurchaseOrderByCustomer eq '{order}'",
        )
        return {
            "order": order,
            "erp_order": number,
            "invoice": str(invoice.properties["BillingDocument"]),
            "gross": str(Decimal(str(invoice.properties["TotalGrossAmount"]))),
        }
