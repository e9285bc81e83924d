"""Published contract of the erp-billing-documents System API: its typed client."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from ledgerbridge.canonical import Invoice, InvoiceStatus
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class ErpBillingDocumentsClient(ApiClient):
    """Invoices (billing documents) held in the ERP."""

    base_path = "/system/erp-billing-documents/v1"

    async def list_invoices(
        self,
        *,
        customer_erp_id: str | None = None,
        po_number: str | None = None,
        status: InvoiceStatus | None = None,
        changed_since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Invoice]:
        """One page of invoices matching the filters given."""
        filters = {
            "customer_erp_id": customer_erp_id,
            "po_number": po_number,
            "status": None if status is None else status.value,
            "changed_since": None if changed_since is None else changed_since.isoformat(),
        }
        return await self._page("/invoices", Invoice, filters=filters, limit=limit, cursor=cursor)

    async def get_invoice(self, erp_number: str) -> Invoice:
        """The invoice with ERP number ``erp_number``, with its lines."""
        return await self._call("GET", f"/invoices/{quote(erp_number)}", Invoice)

    async def cancel_invoice(self, erp_number: str) -> Invoice:
        """Cancel an unpaid invoice; a repeat returns it as cancelled and changes nothing."""
        return await self._call("POST", f"/invoices/{quote(erp_number)}/cancellation", Invoice)
