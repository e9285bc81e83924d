"""Published contract of the erp-credit System API: its typed client."""

from __future__ import annotations

from urllib.parse import quote

from ledgerbridge.canonical import CreditExposure, CreditLimit
from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page
from ledgerbridge.runtime.problems import UpstreamProblem


class ErpCreditClient(ApiClient):
    """Credit limits and exposure held in the ERP.

    Usage::

        exposure = await credit.get_credit_exposure("1000000", "1000")
        if not exposure.allows(order_total): ...
    """

    base_path = "/system/erp-credit/v1"

    async def list_credit_limits(
        self,
        *,
        customer_erp_id: str | None = None,
        blocked: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[CreditLimit]:
        """One page of credit limits matching the filters given."""
        filters = {
            "customer_erp_id": customer_erp_id,
            "blocked": None if blocked is None else str(blocked).lower(),
        }
        return await self._page(
            "/credit-limits", CreditLimit, filters=filters, limit=limit, cursor=cursor
        )

    async def get_credit_limit(self, customer_erp_id: str, segment: str) -> CreditLimit:
        """The credit limit of a customer in a segment."""
        return await self._call("GET", _limit_path(customer_erp_id, segment), CreditLimit)

    async def read_credit_limit(
        self, customer_erp_id: str, segment: str
    ) -> tuple[CreditLimit, str]:
        """The credit limit and its ETag, for `update_credit_limit`."""
        response = await self._http.get(self.base_path + _limit_path(customer_erp_id, segment))
        if response.is_error:
            raise UpstreamProblem(response.status_code, response.json())
        return CreditLimit.model_validate_json(response.content), response.headers["ETag"]

    async def upsert_credit_limit(self, credit_limit: CreditLimit) -> CreditLimit:
        """Open or set the customer's limit in its segment; idempotent."""
        body = credit_limit.model_dump(mode="json")
        return await self._call("POST", "/credit-limits", CreditLimit, json=body)

    async def update_credit_limit(self, credit_limit: CreditLimit, *, etag: str) -> CreditLimit:
        """Change a credit limit still at version ``etag``."""
        path = _limit_path(credit_limit.customer_erp_id, credit_limit.credit_segment)
        body = credit_limit.model_dump(mode="json")
        return await self._call("PUT", path, CreditLimit, json=body, headers={"If-Match": etag})

    async def get_credit_exposure(self, customer_erp_id: str, segment: str) -> CreditExposure:
        """The customer's limit in a segment and how much of it is used."""
        path = f"/credit-exposures/{quote(customer_erp_id)}/{quote(segment)}"
        return await self._call("GET", path, CreditExposure)


def _limit_path(customer_erp_id: str, segment: str) -> str:
    return f"/credit-limits/{quote(customer_erp_id)}/{quote(segment)}"
