"""Routes of the crm-opportunities System API."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.system._crm import CrmResource, crm_router
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.canonical import Opportunity
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api

API = ApiMetadata(
    name="crm-opportunities",
    layer=Layer.SYSTEM,
    version=1,
    owner="crm-integration",
    summary="Sales opportunities held in the CRM, in canonical form.",
    scopes=("crm-opportunities:read", "crm-opportunities:write"),
)


OPPORTUNITIES = CrmResource(
    sobject="Opportunity",
    model=Opportunity,
    select=(
        "AccountId",
        "Name",
        "StageName",
        "CloseDate",
        "CurrencyIsoCode",
        "Amount",
        "Probability",
    ),
    read_mapping="salesforce_opportunity_to_opportunity",
    write_mapping="opportunity_to_salesforce_opportunity",
    filters={"account_id": "AccountId", "stage": "StageName"},
)


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the crm-opportunities API on the Salesforce connector."""
    return build_api(
        API,
        routers=[crm_router(OPPORTUNITIES, path="opportunities", crm=backends.salesforce)],
    )
