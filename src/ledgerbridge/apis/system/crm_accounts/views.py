"""Routes of the crm-accounts System API."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.system._crm import CrmResource, crm_router
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.canonical import Party
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api

API = ApiMetadata(
    name="crm-accounts",
    layer=Layer.SYSTEM,
    version=1,
    owner="crm-integration",
    summary="Customer accounts held in the CRM, in canonical form.",
    scopes=("crm-accounts:read", "crm-accounts:write"),
)

ACCOUNTS = CrmResource(
    sobject="Account",
    model=Party,
    select=(
        "Name",
        "AccountNumber",
        "BillingStreet",
        "BillingCity",
        "BillingPostalCode",
        "BillingState",
        "BillingCountry",
        "Phone",
        "CurrencyIsoCode",
        "ERP_Customer_Id__c",
    ),
    read_mapping="salesforce_account_to_party",
    write_mapping="party_to_salesforce_account",
    filters={"account_number": "AccountNumber", "erp_customer_id": "ERP_Customer_Id__c"},
    batch_key=("erp_id", "ERP_Customer_Id__c"),
)


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the crm-accounts API on the Salesforce connector."""
    return build_api(API, routers=[crm_router(ACCOUNTS, path="accounts", crm=backends.salesforce)])
