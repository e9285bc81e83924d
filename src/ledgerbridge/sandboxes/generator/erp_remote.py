"""Seeding a running ERP sandbox over OData V2 (with CSRF) and its admin routes.

Deliveries and billing runs go through the sandbox's admin routes, as the warehouse and the
billing job would; everything else is an ordinary OData create. The server's clock dates what
it creates, so invoices and payments carry today's date, unlike in-process seeding.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from ledgerbridge.sandboxes.generator.errors import SeedingFailed, raise_for_refusal

ODATA = "/sap/opu/odata/sap"
_KEYS = {
    "A_BusinessPartner": "BusinessPartner",
    "A_Product": "Product",
    "A_SlsPrcgConditionRecord": "ConditionRecord",
    "A_SalesOrder": "SalesOrder",
    "IncomingPayment": "AccountingDocument",
}


class RemoteErp:
    """An ERP seeding target over HTTP.

    with RemoteErp("http://127.0.0.1:8102") as sink:
        seed_erp(plan, sink)
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str = "LEDGERBRIDGE",
        password: str = "sandbox-secret",  # noqa: S107 - the documented sandbox default
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            auth=(username, password),
            headers={"Accept": "application/json"},
            transport=transport,
            timeout=60.0,
        )
        self._token = ""
        self.written = 0

    def __enter__(self) -> RemoteErp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def at(self, moment: datetime) -> None:
        """The server keeps its own time; nothing to do."""

    def create(self, service: str, entity_set: str, payload: dict[str, Any]) -> str:
        """POST one entity (deep insert) and return its key."""
        for _ in range(2):
            if not self._token:
                fetched = self._http.get(f"{ODATA}/{service}/", headers={"X-CSRF-Token": "Fetch"})
                raise_for_refusal(fetched)
                self._token = fetched.headers["X-CSRF-Token"]
            response = self._http.post(
                f"{ODATA}/{service}/{entity_set}",
                json=payload,
                headers={"X-CSRF-Token": self._token},
            )
            if response.status_code == 403 and response.headers.get("X-CSRF-Token") == "Required":
                self._token = ""  # the session expired: fetch a new token and try once more
                continue
            raise_for_refusal(response)
            self.written += 1
            return str(response.json()["d"][_KEYS[entity_set]])
        raise SeedingFailed("the ERP kept refusing the CSRF token")

    def deliver(self, sales_order: str) -> None:
        """Post goods issue for a whole order through the admin route."""
        raise_for_refusal(self._http.post(f"/sandbox/admin/sales-orders/{sales_order}/deliver"))

    def billing_run(self) -> list[str]:
        """Run billing through the admin route; the billing documents created."""
        response = self._http.post("/sandbox/admin/billing-run")
        raise_for_refusal(response)
        return [str(number) for number in response.json()["BillingDocuments"]]
