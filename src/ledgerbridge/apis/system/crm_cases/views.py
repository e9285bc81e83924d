"""Routes of the crm-cases System API."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.system._crm import CrmResource, crm_router
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.canonical import Case
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api

API = ApiMetadata(
    name="crm-cases",
    layer=Layer.SYSTEM,
    version=1,
    owner="crm-integration",
    summary="Customer service cases held in the CRM, in canonical form.",
    scopes=("crm-cases:read", "crm-cases:write"),
)


CASES = CrmResource(
    sobject="Case",
    model=Case,
    select=(
        "CaseNumber",
        "AccountId",
        "ContactId",
        "Subject",
        "Description",
        "Status",
        "Priority",
        "Origin",
        "CreatedDate",
    ),
    read_mapping="salesforce_case_to_case",
    write_mapping="case_to_salesforce_case",
    filters={"account_id": "AccountId", "status": "Status"},
)


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the crm-cases API on the Salesforce connector."""
    return build_api(
        API,
        routers=[crm_router(CASES, path="cases", crm=backends.salesforce)],
    )
