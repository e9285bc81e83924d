"""Routes of the crm-price-books System API."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.system._crm import CrmResource, crm_router
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.canonical import Price, PriceBook
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api

API = ApiMetadata(
    name="crm-price-books",
    layer=Layer.SYSTEM,
    version=1,
    owner="crm-integration",
    summary="Price books and their prices held in the CRM, in canonical form.",
    scopes=("crm-price-books:read", "crm-price-books:write"),
)


PRICE_BOOKS = CrmResource(
    sobject="Pricebook2",
    model=PriceBook,
    select=(
        "Name",
        "IsActive",
        "IsStandard",
    ),
    read_mapping="salesforce_pricebook_to_price_book",
    write_mapping="price_book_to_salesforce_pricebook",
    filters={"name": "Name"},
)


PRICES = CrmResource(
    sobject="PricebookEntry",
    model=Price,
    select=(
        "Pricebook2Id",
        "Product2Id",
        "ProductCode",
        "UnitPrice",
        "CurrencyIsoCode",
        "IsActive",
    ),
    read_mapping="salesforce_pricebookentry_to_price",
    write_mapping="price_to_salesforce_pricebookentry",
    filters={"price_book_id": "Pricebook2Id", "product_id": "Product2Id", "sku": "ProductCode"},
    # Salesforce fixes an entry's price book and product when it is created.
    fixed={"Pricebook2Id": "price_book_crm_id", "Product2Id": "product_crm_id"},
)


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the crm-price-books API on the Salesforce connector."""
    return build_api(
        API,
        routers=[
            crm_router(PRICE_BOOKS, path="price-books", crm=backends.salesforce),
            crm_router(PRICES, path="prices", crm=backends.salesforce),
        ],
    )
