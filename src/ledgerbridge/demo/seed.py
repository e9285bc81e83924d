"""Sample customers, products and orders for the demo, created through the backends' APIs.

Customers and orders start in the CRM; the product list is the same in both systems, as the
ERP masters it (the ERP refuses order items for materials it does not know). The ERP is the
S/4HANA sandbox or a real Tryton: each has its own way of adding a product.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.connectors.tryton import TrytonClient

_FIRST = (
    "Northwind",
    "Bluewater",
    "Harbor",
    "Summit",
    "Granite",
    "Meridian",
    "Oakline",
    "Crescent",
)
_SECOND = ("Capital", "Securities", "Asset Management", "Bank", "Trust", "Advisors", "Holdings")
_CITIES = (
    ("Frankfurt am Main", "60311", "DE", "EUR"),
    ("Paris", "75002", "FR", "EUR"),
    ("Amsterdam", "1012 JS", "NL", "EUR"),
    ("Milano", "20121", "IT", "EUR"),
)
_PRODUCTS = (
    ("FX-HEDGE-STD", "FX hedging service, standard tier", "199.00"),
    ("CUSTODY-BASIC", "Custody account, basic", "49.50"),
    ("ADVISORY-HR", "Advisory hour", "320.00"),
    ("DATA-FEED-EOD", "End-of-day market data feed", "89.90"),
    ("PAYROLL-BULK", "Bulk payroll payment run", "12.75"),
    ("RISK-REPORT-Q", "Quarterly risk report", "1450.00"),
)


AddProduct = Callable[[str, str, Decimal], Awaitable[None]]
"""Adds one product to the ERP: ``(code, name, list price)``."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the demo seeded: CRM account ids, (product id, code, price) triples, the currency."""

    account_ids: list[str]
    products: list[tuple[str, str, Decimal]]
    currency: str = "EUR"


async def seed_catalog(
    crm: SalesforceClient,
    add_product: AddProduct,
    *,
    customers: int,
    rng: random.Random,
    currency: str | None = None,
) -> Catalog:
    """Create ``customers`` accounts in the CRM and the product list in both systems.

    Args:
        crm: the CRM to create accounts and products in.
        add_product: adds a product to the ERP (`s4_adder` or `tryton_adder`).
        customers: how many accounts.
        rng: the source of the sample data.
        currency: the currency of every account and order; by default each city's own.
    """
    account_ids = []
    for n in range(customers):
        city, postal_code, country, city_currency = _CITIES[n % len(_CITIES)]
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {n + 1:03d}"
        account_ids.append(
            await crm.create(
                "Account",
                {
                    "Name": name,
                    "AccountNumber": f"CUST-{n + 1:05d}",
                    "BillingStreet": f"{rng.randint(1, 200)} Main Street",
                    "BillingCity": city,
                    "BillingPostalCode": postal_code,
                    "BillingCountry": country,
                    "CurrencyIsoCode": currency or city_currency,
                    "Phone": f"+49 69 {rng.randint(1000000, 9999999)}",
                },
            )
        )
    products = []
    for code, name, price in _PRODUCTS:
        await add_product(code, name, Decimal(price))
        product_id = await crm.create(
            "Product2",
            {"Name": name, "ProductCode": code, "IsActive": True, "QuantityUnitOfMeasure": "Each"},
        )
        products.append((product_id, code, Decimal(price)))
    return Catalog(account_ids=account_ids, products=products, currency=currency or "EUR")


def s4_adder(erp: S4HanaClient) -> AddProduct:
    """Adds products to the S/4HANA sandbox as trading goods (prices come from the CRM order)."""

    async def add(code: str, name: str, price: Decimal) -> None:
        await erp.create("API_PRODUCT_SRV", "A_Product", s4_product(code, name))

    return add


def tryton_adder(tryton: TrytonClient, *, category: str) -> AddProduct:
    """Adds products to Tryton as salable services in units, invoiced under ``category``."""

    async def add(code: str, name: str, price: Decimal) -> None:
        [category_id] = await tryton.search("product.category", [["name", "=", category]])
        [unit] = await tryton.search("product.uom", [["symbol", "=", "u"]])
        await tryton.create(
            "product.template",
            [
                {
                    "name": name,
                    "code": code,
                    "type": "service",
                    "default_uom": unit,
                    "sale_uom": unit,
                    "salable": True,
                    "list_price": price,
                    "account_category": category_id,
                    "products": [["create", [{}]]],
                }
            ],
        )

    return add


def s4_product(code: str, name: str) -> dict[str, object]:
    """An A_Product create payload: a trading good counted in each."""
    return {
        "Product": code,
        "ProductType": "HAWA",
        "BaseUnit": "EA",
        "to_Description": {
            "results": [{"Product": code, "Language": "EN", "ProductDescription": name[:40]}]
        },
    }


async def create_order(crm: SalesforceClient, catalog: Catalog, *, rng: random.Random) -> str:
    """Create one order with one to three lines in the CRM; returns its id."""
    order_id = await crm.create(
        "Order",
        {
            "AccountId": rng.choice(catalog.account_ids),
            "EffectiveDate": (date(2026, 11, 1) + timedelta(days=rng.randint(0, 20))).isoformat(),
            "Status": "Draft",
            "CurrencyIsoCode": catalog.currency,
            "PoNumber": f"PO-{rng.randint(10000, 99999)}",
        },
    )
    for product_id, _code, price in rng.sample(catalog.products, rng.randint(1, 3)):
        await crm.create(
            "OrderItem",
            {
                "OrderId": order_id,
                "Product2Id": product_id,
                "Quantity": rng.randint(1, 20),
                "UnitPrice": str(price),
            },
        )
    return order_id
