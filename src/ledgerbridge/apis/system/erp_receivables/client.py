"""Published contract of the erp-receivables System API: its typed client."""

from __future__ import annotations

from urllib.parse import quote

from ledgerbridge.canonical import Payment, ReceivableItem
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class ErpReceivablesClient(ApiClient):
    """Receivables and incoming payments held in the ERP."""

    base_path = "/system/erp-receivables/v1"

    async def list_receivables(
        self,
        *,
        customer_erp_id: str | None = None,
        invoice_erp_number: str | None = None,
        cleared: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[ReceivableItem]:
        """One page of receivable items matching the filters given."""
        filters = {
            "customer_erp_id": customer_erp_id,
            "invoice_erp_number": invoice_erp_number,
            "cleared": None if cleared is None else str(cleared).lower(),
        }
        return await self._page(
            "/receivables", ReceivableItem, filters=filters, limit=limit, cursor=cursor
        )

    async def list_payments(
        self,
        *,
        customer_erp_id: str | None = None,
        reference: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Payment]:
        """One page of incoming payments matching the filters given."""
        filters = {"customer_erp_id": customer_erp_id, "reference": reference}
        return await self._page("/payments", Payment, filters=filters, limit=limit, cursor=cursor)

    async def get_payment(self, company_code: str, fiscal_year: str, document: str) -> Payment:
        """The incoming payment with that accounting document."""
        path = f"/payments/{quote(company_code)}/{quote(fiscal_year)}/{quote(document)}"
        return await self._call("GET", path, Payment)

    async def post_payment(self, payment: Payment) -> Payment:
        """Post the payment unless one with its customer and reference exists; return it."""
        return await self._call("POST", "/payments", Payment, json=payment.model_dump(mode="json"))
