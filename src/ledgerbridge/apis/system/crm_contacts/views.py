"""Routes of the crm-contacts System API."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.system._crm import CrmResource, crm_router
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.canonical import Contact
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api

API = ApiMetadata(
    name="crm-contacts",
    layer=Layer.SYSTEM,
    version=1,
    owner="crm-integration",
    summary="Contacts (people at customer accounts) held in the CRM, in canonical form.",
    scopes=("crm-contacts:read", "crm-contacts:write"),
)


CONTACTS = CrmResource(
    sobject="Contact",
    model=Contact,
    select=(
        "AccountId",
        "Account.ERP_Customer_Id__c",
        "Salutation",
        "FirstName",
        "LastName",
        "Title",
        "Department",
        "Email",
        "Phone",
        "MobilePhone",
        "MailingStreet",
        "MailingCity",
        "MailingPostalCode",
        "MailingState",
        "MailingCountry",
    ),
    read_mapping="salesforce_contact_to_contact",
    write_mapping="contact_to_salesforce_contact",
    filters={"account_id": "AccountId", "email": "Email"},
)


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the crm-contacts API on the Salesforce connector."""
    return build_api(
        API,
        routers=[crm_router(CONTACTS, path="contacts", crm=backends.salesforce)],
    )
