"""Routes of the erp-products System API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, FastAPI, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from ledgerbridge.apis.system._erp.edge import IfMatch, tag
from ledgerbridge.apis.system._erp.port import ErpProducts
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.canonical import Product, UtcDatetime
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.paging import Cursor, Limit, Page, offset_of, page_of

API = ApiMetadata(
    name="erp-products",
    layer=Layer.SYSTEM,
    version=1,
    owner="erp-integration",
    summary="Products (materials) held in the ERP, in canonical form, keyed by SKU.",
    scopes=("erp-products:read", "erp-products:write"),
)

SKU = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$"
EXAMPLE: dict[str, Any] = {
    "erp_id": "CUSTODY-BASIC",
    "sku": "CUSTODY-BASIC",
    "name": "Custody account, basic",
    "unit": "EA",
    "active": True,
}
_BODY_EXAMPLES: dict[str, Any] = {
    "product": {"summary": "A product as the ERP should hold it", "value": EXAMPLE}
}
_ETAG_HEADER = {"ETag": {"description": "The version read.", "schema": {"type": "string"}}}
_ONE = {"content": {"application/json": {"example": EXAMPLE}}, "headers": _ETAG_HEADER}

ProductBody = Annotated[Product, Body(openapi_examples=_BODY_EXAMPLES)]
SkuPath = Annotated[
    str,
    Path(pattern=SKU, description="The product's SKU (SAP material).", examples=["CUSTODY-BASIC"]),
]


def create_app(backends: SystemBackends) -> list[FastAPI]:
    """Build the erp-products API, where the ERP behind the port keeps products."""
    erp = backends.erp
    if not isinstance(erp, ErpProducts):
        return []
    return [build_api(API, routers=[_router(erp)])]


def _router(erp: ErpProducts) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/products",
        responses={200: {"content": {"application/json": {"example": {"items": [EXAMPLE]}}}}},
    )
    async def list_products(
        limit: Limit = 50,
        cursor: Cursor = None,
        active: Annotated[
            bool | None, Query(description="Only active (or inactive) ones.", examples=[True])
        ] = None,
        changed_since: Annotated[
            UtcDatetime | None,
            Query(
                description="Only those changed after this time (with its UTC offset).",
                examples=["2026-11-24T00:00:00Z"],
            ),
        ] = None,
    ) -> Page[Product]:
        """Products by SKU, filtered and paged."""
        offset = offset_of(cursor)
        window = await erp.list_products(
            active=active, changed_since=changed_since, offset=offset, limit=limit + 1
        )
        return page_of(window, offset=offset, limit=limit)

    @router.get("/products/{sku}", responses={200: _ONE})
    async def get_product(sku: SkuPath, response: Response) -> Product:
        """One product, with its ETag."""
        found = await erp.get_product(sku)
        tag(response, found.etag)
        return found.record

    @router.post(
        "/products",
        status_code=status.HTTP_201_CREATED,
        responses={201: _ONE, 200: {"description": "It existed; now it matches the body."}},
    )
    async def upsert_product(product: ProductBody, response: Response) -> Product:
        """Create the product of this SKU (201), or make the existing one match the body (200).

        A repeat of the same body changes nothing.
        """
        result, created = await erp.upsert_product(product)
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        response.headers["Location"] = f"{API.base_path}/products/{quote(product.sku, safe='')}"
        tag(response, result.etag)
        return result.record

    @router.put("/products/{sku}", responses={200: _ONE})
    async def update_product(
        sku: SkuPath, product: ProductBody, if_match: IfMatch, response: Response
    ) -> Product:
        """Replace a product's name, unit and activity, if it is still the version read."""
        if product.sku != sku:
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", "sku"),
                        "msg": f"must be {sku}, as in the path",
                        "type": "value_error",
                    }
                ]
            )
        result = await erp.update_product(product, etag=if_match)
        tag(response, result.etag)
        return result.record

    return router
