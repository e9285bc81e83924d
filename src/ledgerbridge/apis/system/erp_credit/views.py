"""Routes of the erp-credit System API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.system._erp.edge import IfMatch, tag
from ledgerbridge.apis.system._erp.port import ErpCredit
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.ids import SAP_DOCUMENT_NUMBER
from ledgerbridge.canonical import CreditExposure, CreditLimit
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Cursor, Limit, Page, offset_of, page_of

API = ApiMetadata(
    name="erp-credit",
    layer=Layer.SYSTEM,
    version=1,
    owner="erp-integration",
    summary="Credit limits per customer and segment held in the ERP, and their exposure.",
    scopes=("erp-credit:read", "erp-credit:write"),
)

LIMIT_EXAMPLE: dict[str, Any] = {
    "customer_erp_id": "1000000",
    "credit_segment": "1000",
    "limit": {"amount": "50000.00", "currency": "EUR"},
    "valid_to": None,
    "blocked": False,
    "risk_class": None,
}
EXPOSURE_EXAMPLE: dict[str, Any] = {
    "customer_erp_id": "1000000",
    "credit_segment": "1000",
    "limit": {"amount": "50000.00", "currency": "EUR"},
    "exposure": {"amount": "12480.00", "currency": "EUR"},
    "blocked": False,
}
_BODY_EXAMPLES: dict[str, Any] = {
    "limit": {"summary": "EUR 50,000 in segment 1000", "value": LIMIT_EXAMPLE}
}
_ETAG_HEADER = {"ETag": {"description": "The version read.", "schema": {"type": "string"}}}


def _example(value: Any, *, etag: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"content": {"application/json": {"example": value}}}
    if etag:
        response["headers"] = _ETAG_HEADER
    return response


LimitBody = Annotated[CreditLimit, Body(openapi_examples=_BODY_EXAMPLES)]
Customer = Annotated[
    str, Path(pattern=SAP_DOCUMENT_NUMBER, description="The ERP customer.", examples=["1000000"])
]
Segment = Annotated[
    str, Path(pattern=SAP_DOCUMENT_NUMBER, description="The credit segment.", examples=["1000"])
]


def create_app(backends: SystemBackends) -> list[FastAPI]:
    """Build the erp-credit API, where the ERP behind the port manages credit."""
    erp = backends.erp
    if not isinstance(erp, ErpCredit):
        return []
    return [build_api(API, routers=[_router(erp)])]


def _router(erp: ErpCredit) -> APIRouter:
    router = APIRouter()

    @router.get("/credit-limits", responses={200: _example({"items": [LIMIT_EXAMPLE]})})
    async def list_credit_limits(
        limit: Limit = 50,
        cursor: Cursor = None,
        customer_erp_id: Annotated[
            str | None, Query(pattern=SAP_DOCUMENT_NUMBER, examples=["1000000"])
        ] = None,
        blocked: Annotated[
            bool | None, Query(description="Only blocked (or open) accounts.", examples=[False])
        ] = None,
    ) -> Page[CreditLimit]:
        """Credit limits by customer and segment, filtered and paged."""
        offset = offset_of(cursor)
        window = await erp.list_credit_limits(
            customer_erp_id=customer_erp_id, blocked=blocked, offset=offset, limit=limit + 1
        )
        return page_of(window, offset=offset, limit=limit)

    @router.get(
        "/credit-limits/{customer_erp_id}/{segment}",
        responses={200: _example(LIMIT_EXAMPLE, etag=True)},
    )
    async def get_credit_limit(
        customer_erp_id: Customer, segment: Segment, response: Response
    ) -> CreditLimit:
        """One credit limit, with its ETag."""
        found = await erp.get_credit_limit(customer_erp_id, segment)
        tag(response, found.etag)
        return found.record

    @router.post(
        "/credit-limits",
        status_code=status.HTTP_201_CREATED,
        responses={
            201: _example(LIMIT_EXAMPLE, etag=True),
            200: {"description": "The account existed; now it matches the body."},
        },
    )
    async def upsert_credit_limit(credit_limit: LimitBody, response: Response) -> CreditLimit:
        """Open the customer's credit account in the segment (201), or set it as sent (200).

        A repeat of the same body changes nothing.
        """
        result, created = await erp.upsert_credit_limit(credit_limit)
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        response.headers["Location"] = (
            f"{API.base_path}/credit-limits/{credit_limit.customer_erp_id}/"
            f"{credit_limit.credit_segment}"
        )
        tag(response, result.etag)
        return result.record

    @router.put(
        "/credit-limits/{customer_erp_id}/{segment}",
        responses={200: _example(LIMIT_EXAMPLE, etag=True)},
    )
    async def update_credit_limit(
        customer_erp_id: Customer,
        segment: Segment,
        credit_limit: LimitBody,
        if_match: IfMatch,
        response: Response,
    ) -> CreditLimit:
        """Change a limit, its end or its block, if it is still the version read."""
        for field, expected in (
            ("customer_erp_id", customer_erp_id),
            ("credit_segment", segment),
        ):
            if getattr(credit_limit, field) != expected:
                raise RequestValidationError(
                    [
                        {
                            "loc": ("body", field),
                            "msg": f"must be {expected}, as in the path",
                            "type": "value_error",
                        }
                    ]
                )
        result = await erp.update_credit_limit(credit_limit, etag=if_match)
        tag(response, result.etag)
        return result.record

    @router.get(
        "/credit-exposures/{customer_erp_id}/{segment}",
        responses={200: _example(EXPOSURE_EXAMPLE)},
    )
    async def get_credit_exposure(customer_erp_id: Customer, segment: Segment) -> CreditExposure:
        """The customer's limit in the segment and how much open orders and receivables use."""
        return await erp.get_credit_exposure(customer_erp_id, segment)

    return router
