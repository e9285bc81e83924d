"""Channel Adapter for Tryton over JSON-RPC.

Usage::

    async with TrytonClient(
        base_url="http://127.0.0.1:8000", database="erp", username="ledgerbridge", password=pw
    ) as tryton:
        party = await tryton.find_party_by_identifier("001A000001")
        await tryton.button("sale.sale", "confirm", [sale_id])

Failures surface as ledgerbridge.runtime.errors with backend "tryton"; Tryton's UserError
and UserWarning as TrytonUserError and TrytonUserWarning (both BackendRejected).
"""

from ledgerbridge.connectors.tryton._client import Domain, TrytonClient
from ledgerbridge.connectors.tryton._errors import TrytonUserError, TrytonUserWarning
from ledgerbridge.connectors.tryton._wire import TrytonRecord
from ledgerbridge.connectors.tryton._wizard import WizardResult, WizardSession, WizardStep

__all__ = [
    "Domain",
    "TrytonClient",
    "TrytonRecord",
    "TrytonUserError",
    "TrytonUserWarning",
    "WizardResult",
    "WizardSession",
    "WizardStep",
]
