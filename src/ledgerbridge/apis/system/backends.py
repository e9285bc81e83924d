"""What the System layer is built with: the CRM connector and the ERP behind its port."""

from __future__ import annotations

from dataclasses import dataclass

from ledgerbridge.apis.system._erp import ErpPort
from ledgerbridge.connectors.salesforce import SalesforceClient


@dataclass(frozen=True, slots=True)
class SystemBackends:
    """The System layer's outgoing connections, handed over by the composition root."""

    salesforce: SalesforceClient
    erp: ErpPort
