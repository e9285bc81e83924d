"""Routes of the erp-customers System API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.system._batch import refused, require_unique_keys
from ledgerbridge.apis.system._erp.edge import IfMatch, tag
from ledgerbridge.apis.system._erp.port import ErpCustomerUpdates
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.ids import SAP_DOCUMENT_NUMBER
from ledgerbridge.canonical import Party, UtcDatetime
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.batch import Batch, BatchOutcome, BatchResult
from ledgerbridge.runtime.paging import Cursor, Limit, Page, offset_of, page_of

API = ApiMetadata(
    name="erp-customers",
    layer=Layer.SYSTEM,
    version=1,
    owner="erp-integration",
    summary="Customers (business partners) held in the ERP, in canonical form.",
    scopes=("erp-customers:read", "erp-customers:write"),
)


CustomerId = Annotated[str, Path(pattern=SAP_DOCUMENT_NUMBER, examples=["1000042"])]
_ETAG_HEADER = {"ETag": {"description": "The version read.", "schema": {"type": "string"}}}


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the erp-customers API on the ERP port; customers change in place where the ERP
    behind it can change them."""
    router = APIRouter()
    erp = backends.erp

    @router.post(
        "/customers",
        status_code=status.HTTP_201_CREATED,
        responses={200: {"model": Party, "description": "The customer existed already."}},
    )
    async def ensure_customer(party: Party, response: Response) -> Party:
        """Create the customer for a CRM account, or return the one that exists (200)."""
        customer, created = await erp.ensure_customer(party)
        if not created:
            response.status_code = status.HTTP_200_OK
        return customer

    @router.post("/customers/batch")
    async def ensure_customers(batch: Batch[Party]) -> BatchResult:
        """Ensure up to 2000 customers by CRM id at once; an outcome per party.

        Each party's customer is created unless one exists for its ``crm_id``, as one POST
        /customers would, so sending a batch again creates nothing new. On S/4HANA the
        lookups and creates go in OData $batch requests. Invalid parties fail the request
        (422) before anything is written; a party the ERP refuses gets a problem naming
        its index and fields, and the others are written.
        """
        require_unique_keys([party.crm_id for party in batch.records], "crm_id")
        ensured = await erp.ensure_customers(batch.records)
        return BatchResult.of(
            [
                refused(index, outcome)
                if isinstance(outcome, Exception)
                else BatchOutcome(index=index, id=outcome[0].erp_id, created=outcome[1])
                for index, outcome in enumerate(ensured)
            ]
        )

    @router.get("/customers")
    async def list_customers(
        limit: Limit = 50,
        cursor: Cursor = None,
        crm_id: Annotated[
            str | None,
            Query(
                pattern=r"^[0-9A-Za-z]{1,20}$",
                description="Only the customer of this CRM account (its id as the ERP holds it).",
                examples=["0015g00000Qm7RtAAJ"],
            ),
        ] = None,
        changed_since: Annotated[
            UtcDatetime | None,
            Query(
                description="Only those changed after this time (with its UTC offset). S/4HANA "
                "stamps a partner's change by the day: there, those changed that day or later.",
                examples=["2026-11-24T00:00:00Z"],
            ),
        ] = None,
    ) -> Page[Party]:
        """ERP customers as canonical parties, by ERP id, filtered and paged."""
        offset = offset_of(cursor)
        window = await erp.list_customers(
            crm_id=crm_id, changed_since=changed_since, offset=offset, limit=limit + 1
        )
        return page_of(window, offset=offset, limit=limit)

    @router.get("/customers/{customer_id}", responses={200: {"headers": _ETAG_HEADER}})
    async def get_customer(customer_id: CustomerId, response: Response) -> Party:
        """One ERP customer as a canonical party, with its ETag where the ERP changes them."""
        if not isinstance(erp, ErpCustomerUpdates):
            return await erp.get_customer(customer_id)
        found = await erp.read_customer(customer_id)
        tag(response, found.etag)
        return found.record

    if isinstance(erp, ErpCustomerUpdates):
        router.include_router(_updates(erp))
    return build_api(API, routers=[router])


def _updates(erp: ErpCustomerUpdates) -> APIRouter:
    router = APIRouter()

    @router.put("/customers/{customer_id}", responses={200: {"headers": _ETAG_HEADER}})
    async def update_customer(
        customer_id: CustomerId, party: Party, if_match: IfMatch, response: Response
    ) -> Party:
        """Replace a customer's name and billing address, if it is still the version read.

        The CRM id and the ERP id stay as they are: a body naming others is refused (422),
        as is one without a billing address for a customer that has one.
        """
        if party.erp_id is not None and party.erp_id != customer_id:
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", "erp_id"),
                        "msg": f"must be {customer_id}, as in the path",
                        "type": "value_error",
                    }
                ]
            )
        result = await erp.update_customer(customer_id, party, etag=if_match)
        tag(response, result.etag)
        return result.record

    return router
