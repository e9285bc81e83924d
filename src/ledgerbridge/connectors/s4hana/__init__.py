"""Channel Adapter for SAP S/4HANA over OData V2.

Usage::

    async with S4HanaClient(base_url=url, username=user, password=secret) as s4:
        order = await s4.get("API_SALES_ORDER_SRV", "A_SalesOrder", "1", expand=["to_Item"])

Many reads and writes go in one request with ``batch`` (OData $batch, change sets).

Failures surface as ledgerbridge.runtime.errors with backend "s4hana".
"""

from ledgerbridge.connectors.s4hana._batch import (
    BatchPart,
    BatchReply,
    Change,
    ChangeSet,
    Retrieve,
)
from ledgerbridge.connectors.s4hana._client import S4HanaClient
from ledgerbridge.connectors.s4hana._wire import ODataEntity, odata_literal

__all__ = [
    "BatchPart",
    "BatchReply",
    "Change",
    "ChangeSet",
    "ODataEntity",
    "Retrieve",
    "S4HanaClient",
    "odata_literal",
]
