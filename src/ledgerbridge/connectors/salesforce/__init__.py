"""Channel Adapter for Salesforce over the REST API.

Usage::

    async with SalesforceClient(base_url=url, client_id=key, client_secret=secret) as sf:
        result = await sf.upsert("Account", "ERP_Customer_Id__c", "C-1000", {"Name": "Acme"})
        record = await sf.get("Account", result.id)

Records: get, get_by_external_id, create, update, upsert, delete, query (SOQL, every batch).
Batches: composite (chained subrequests), create_many / update_many / upsert_many /
delete_many / retrieve_many (sObject Collections), bulk_ingest / bulk_query (Bulk API 2.0).
Changes: change_events (the CRM sandbox's Change Data Capture stream).
Limits: api_usage (the Sforce-Limit-Info header as last reported) and paused_for (the pause
after REQUEST_LIMIT_EXCEEDED, during which calls raise BackendPaused without going out).

Failures surface as ledgerbridge.runtime.errors with backend "salesforce".
"""

from ledgerbridge.connectors.salesforce._bulk import (
    BulkIngestResult,
    BulkOperation,
    BulkRecordResult,
)
from ledgerbridge.connectors.salesforce._client import SalesforceClient
from ledgerbridge.connectors.salesforce._limits import ApiUsage
from ledgerbridge.connectors.salesforce._subscription import ChangeHandler, ChangeSubscription
from ledgerbridge.connectors.salesforce._wire import (
    ChangeEvent,
    CompositeResponse,
    CompositeSubrequest,
    SaveError,
    SaveResult,
    SObjectRecord,
    UpsertResult,
)

__all__ = [
    "ApiUsage",
    "BulkIngestResult",
    "BulkOperation",
    "BulkRecordResult",
    "ChangeEvent",
    "ChangeHandler",
    "ChangeSubscription",
    "CompositeResponse",
    "CompositeSubrequest",
    "SObjectRecord",
    "SalesforceClient",
    "SaveError",
    "SaveResult",
    "UpsertResult",
]
