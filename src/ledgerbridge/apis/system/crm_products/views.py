"""Routes of the crm-products System API."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.system._crm import CrmResource, crm_router
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.canonical import Product
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api

API = ApiMetadata(
    name="crm-products",
    layer=Layer.SYSTEM,
    version=1,
    owner="crm-integration",
    summary="Products as the CRM sells them, in canonical form.",
    scopes=("crm-products:read", "crm-products:write"),
)


PRODUCTS = CrmResource(
    sobject="Product2",
    model=Product,
    select=(
        "Name",
        "ProductCode",
        "IsActive",
        "QuantityUnitOfMeasure",
    ),
    read_mapping="salesforce_product_to_product",
    write_mapping="product_to_salesforce_product2",
    filters={"sku": "ProductCode"},
    batch_key=("sku", "ERP_Material_Number__c"),
)


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the crm-products API on the Salesforce connector."""
    return build_api(
        API,
        routers=[crm_router(PRODUCTS, path="products", crm=backends.salesforce)],
    )
