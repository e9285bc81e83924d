"""Routes of the erp-pricing System API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Path, Query, Response, status

from ledgerbridge.apis.system._erp.edge import IfMatch, tag
from ledgerbridge.apis.system._erp.port import ErpPricing
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.canonical import Price
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Cursor, Limit, Page, offset_of, page_of

API = ApiMetadata(
    name="erp-pricing",
    layer=Layer.SYSTEM,
    version=1,
    owner="erp-integration",
    summary="List prices (PR00 condition records) held in the ERP, in canonical form.",
    scopes=("erp-pricing:read", "erp-pricing:write"),
)

PRICE_ID = r"^[0-9]{1,10}$"
EXAMPLE: dict[str, Any] = {
    "erp_id": "0000000001",
    "product_sku": "CUSTODY-BASIC",
    "sales_organization": "1010",
    "distribution_channel": "10",
    "unit_price": {"amount": "120.00", "currency": "EUR"},
    "per_quantity": "1",
    "unit": "EA",
    "valid_from": "2027-01-01",
    "valid_to": None,
    "active": True,
}
_BODY_EXAMPLES: dict[str, Any] = {
    "price": {
        "summary": "The 2027 list price of a product",
        "value": {k: v for k, v in EXAMPLE.items() if k != "erp_id"},
    }
}
_ETAG_HEADER = {"ETag": {"description": "The version read.", "schema": {"type": "string"}}}
_ONE = {"content": {"application/json": {"example": EXAMPLE}}, "headers": _ETAG_HEADER}
_PAGE = {"content": {"application/json": {"example": {"items": [EXAMPLE]}}}}

PriceBody = Annotated[Price, Body(openapi_examples=_BODY_EXAMPLES)]
PriceIdPath = Annotated[
    str, Path(pattern=PRICE_ID, description="The ERP condition record.", examples=["0000000001"])
]


def create_app(backends: SystemBackends) -> list[FastAPI]:
    """Build the erp-pricing API, where the ERP behind the port keeps prices."""
    erp = backends.erp
    if not isinstance(erp, ErpPricing):
        return []
    return [build_api(API, routers=[_router(erp)])]


def _router(erp: ErpPricing) -> APIRouter:
    router = APIRouter()

    @router.get("/prices", responses={200: _PAGE})
    async def list_prices(
        limit: Limit = 50,
        cursor: Cursor = None,
        sku: Annotated[str | None, Query(min_length=1, max_length=40, examples=["MAT"])] = None,
        sales_organization: Annotated[
            str | None, Query(min_length=1, max_length=4, examples=["1010"])
        ] = None,
        distribution_channel: Annotated[
            str | None, Query(min_length=1, max_length=2, examples=["10"])
        ] = None,
        valid_on: Annotated[
            date | None, Query(description="Only prices valid that day.", examples=["2027-03-01"])
        ] = None,
    ) -> Page[Price]:
        """Prices by ERP id, filtered and paged."""
        offset = offset_of(cursor)
        window = await erp.list_prices(
            sku=sku,
            sales_organization=sales_organization,
            distribution_channel=distribution_channel,
            valid_on=valid_on,
            offset=offset,
            limit=limit + 1,
        )
        return page_of(window, offset=offset, limit=limit)

    @router.get("/prices/{price_id}", responses={200: _ONE})
    async def get_price(price_id: PriceIdPath, response: Response) -> Price:
        """One price, with its ETag."""
        found = await erp.get_price(price_id)
        tag(response, found.etag)
        return found.record

    @router.post(
        "/prices",
        status_code=status.HTTP_201_CREATED,
        responses={201: _ONE, 200: {"description": "It existed; now it matches the body."}},
    )
    async def upsert_price(price: PriceBody, response: Response) -> Price:
        """Set the price of a product in a sales organisation and channel from a start date.

        The product, organisation, channel and ``valid_from`` are the key: 201 when no price
        had that key, 200 when one had (its amount, quantity and activity now match the
        body). A repeat of the same body changes nothing.
        """
        result, created = await erp.upsert_price(price)
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        response.headers["Location"] = f"{API.base_path}/prices/{result.record.erp_id}"
        tag(response, result.etag)
        return result.record

    @router.put("/prices/{price_id}", responses={200: _ONE})
    async def update_price(
        price_id: PriceIdPath, price: PriceBody, if_match: IfMatch, response: Response
    ) -> Price:
        """Change a price's amount, quantity or activity, if it is still the version read.

        Its product, organisation, channel and start date are its key and cannot change.
        """
        result = await erp.update_price(price_id, price, etag=if_match)
        tag(response, result.etag)
        return result.record

    return router
