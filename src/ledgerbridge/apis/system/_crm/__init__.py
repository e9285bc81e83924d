"""CRM objects served as canonical resources: one declaration per System API, routes made here."""

from ledgerbridge.apis.system._crm.resource import CrmResource, crm_router

__all__ = ["CrmResource", "crm_router"]
