"""The S/4HANA connector against the ERP sandbox over the ASGI transport."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.s4hana import S4HanaClient, odata_literal
from ledgerbridge.runtime.errors import (
    AuthFailed,
    BackendRejected,
    BackendUnavailable,
    Conflict,
    NotFound,
)
from ledgerbridge.sandboxes.erp import create_app

BP = "API_BUSINESS_PARTNER"
SO = "API_SALES_ORDER_SRV"


async def test_create_business_partner_deep_insert_numbers_and_links(
    s4: S4HanaClient, partner_payload
) -> None:
    """A deep insert numbers the partner from 1000000 and creates address and customer."""
    created = await s4.create(BP, "A_BusinessPartner", partner_payload("Acme", "001X"))
    number = created.properties["BusinessPartner"]
    assert number == "1000000"
    assert created.type == "API_BUSINESS_PARTNER.A_BusinessPartnerType"
    assert created.uri.endswith("/A_BusinessPartner('1000000')")
    assert created.properties["BusinessPartnerFullName"] == "Acme"
    assert isinstance(created.properties["CreationDate"], datetime)
    read = await s4.get(
        BP, "A_BusinessPartner", number, expand=["to_BusinessPartnerAddress", "to_Customer"]
    )
    assert read.properties["BusinessPartnerIDByExtSystem"] == "001X"
    assert read.properties["to_BusinessPartnerAddress"][0]["CityName"] == "Berlin"
    assert read.properties["to_Customer"]["Customer"] == number
    second = await s4.create(BP, "A_BusinessPartner", partner_payload("Beta", "001Y"))
    assert second.properties["BusinessPartner"] == "1000001"


async def test_create_sales_order_prices_items_and_totals(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """Items are numbered 10, 20 and priced from PR00; the header total is their sum."""
    order = await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("10.50", "3.25")))
    assert order.properties["SalesOrder"] == "1"
    assert Decimal(order.properties["TotalNetAmount"]) == Decimal("27.50")
    assert order.properties["OverallSDProcessStatus"] == "A"
    assert order.etag is not None
    read = await s4.get(SO, "A_SalesOrder", "1", expand=["to_Item/to_PricingElement"])
    items = read.properties["to_Item"]
    assert [i["SalesOrderItem"] for i in items] == ["10", "20"]
    assert [i["NetAmount"] for i in items] == ["21.00", "6.50"]
    assert items[0]["to_PricingElement"][0]["ConditionType"] == "PR00"
    assert read.etag == order.etag


async def test_sales_order_for_unknown_customer_is_rejected_with_sap_message(
    s4: S4HanaClient, order_payload
) -> None:
    """An order for a sold-to party that is not a customer raises BackendRejected."""
    with pytest.raises(BackendRejected) as caught:
        await s4.create(SO, "A_SalesOrder", order_payload("9999999"))
    assert caught.value.backend == "s4hana"
    assert caught.value.status_code == 400
    assert "Sold-to party 9999999" in caught.value.message


async def test_get_unknown_key_raises_not_found(s4: S4HanaClient) -> None:
    """Reading a missing key raises NotFound."""
    with pytest.raises(NotFound):
        await s4.get(SO, "A_SalesOrder", "424242")


async def test_compound_key_get(s4: S4HanaClient, customer: str, order_payload) -> None:
    """A compound key given as a mapping addresses one item."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer))
    item = await s4.get(SO, "A_SalesOrderItem", {"SalesOrder": "1", "SalesOrderItem": "10"})
    assert item.properties["Material"] == "MAT-1"


async def test_update_with_current_etag_then_stale_etag_conflicts(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """PATCH with the current ETag succeeds and moves it; the old ETag then raises Conflict."""
    order = await s4.create(SO, "A_SalesOrder", order_payload(customer))
    await s4.update(SO, "A_SalesOrder", "1", {"PurchaseOrderByCustomer": "PO-2"}, etag=order.etag)
    read = await s4.get(SO, "A_SalesOrder", "1")
    assert read.properties["PurchaseOrderByCustomer"] == "PO-2"
    assert read.etag != order.etag
    with pytest.raises(Conflict) as caught:
        await s4.update(
            SO, "A_SalesOrder", "1", {"PurchaseOrderByCustomer": "PO-3"}, etag=order.etag
        )
    assert caught.value.status_code == 412


async def test_update_without_etag_on_protected_entity_is_rejected(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """Sales orders require If-Match; an update without one is refused (428)."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer))
    with pytest.raises(BackendRejected) as caught:
        await s4.update(SO, "A_SalesOrder", "1", {"PurchaseOrderByCustomer": "X"}, etag=None)
    assert caught.value.status_code == 428


async def test_query_filters_with_escaped_literals(s4: S4HanaClient, partner_payload) -> None:
    """odata_literal escapes quotes so names with apostrophes filter exactly."""
    await s4.create(BP, "A_BusinessPartner", partner_payload("O'Brien Ltd", "001A"))
    await s4.create(BP, "A_BusinessPartner", partner_payload("Brien", "001B"))
    found = await s4.query(
        BP,
        "A_BusinessPartner",
        filter=f"OrganizationBPName1 eq {odata_literal(chr(39).join(['O', 'Brien Ltd']))}",
    )
    assert [e.properties["BusinessPartnerIDByExtSystem"] for e in found] == ["001A"]
    contains = await s4.query(
        BP,
        "A_BusinessPartner",
        filter=(
            "substringof('Brien', OrganizationBPName1) and not endswith(OrganizationBPName1, 'Ltd')"
        ),
    )
    assert [e.properties["OrganizationBPName1"] for e in contains] == ["Brien"]


async def test_query_decimal_and_datetime_filters(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """Decimal and datetimeoffset literals compare by value, not text."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("5.00",)))
    await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("50.00",)))
    big = await s4.query(
        SO, "A_SalesOrder", filter=f"TotalNetAmount ge {odata_literal(Decimal('20'))}"
    )
    assert [e.properties["SalesOrder"] for e in big] == ["2"]
    first = await s4.get(SO, "A_SalesOrder", "1")
    changed_since = first.properties["LastChangeDateTime"]
    later = await s4.query(
        SO,
        "A_SalesOrder",
        filter=f"LastChangeDateTime gt {odata_literal(changed_since)}",
    )
    assert [e.properties["SalesOrder"] for e in later] == ["2"]


async def test_query_paging_ordering_select_and_expand(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """$orderby, $top, $skip, $select and $expand shape the page."""
    for price in ("1.00", "3.00", "2.00"):
        await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=(price,)))
    page = await s4.query(
        SO,
        "A_SalesOrder",
        orderby="TotalNetAmount desc",
        top=2,
        skip=1,
        select=["SalesOrder", "TotalNetAmount", "to_Item"],
        expand=["to_Item"],
    )
    assert [e.properties["SalesOrder"] for e in page] == ["3", "1"]
    assert set(page[0].properties) == {"SalesOrder", "TotalNetAmount", "to_Item"}
    assert page[0].properties["to_Item"][0]["NetAmount"] == "4.00"


async def test_invalid_filter_is_rejected(s4: S4HanaClient) -> None:
    """A filter on an unknown property raises BackendRejected naming it."""
    with pytest.raises(BackendRejected, match="NoSuchField"):
        await s4.query(BP, "A_BusinessPartner", filter="NoSuchField eq 'x'")


async def test_csrf_token_is_fetched_once_and_refreshed_after_expiry(
    erp_app: FastAPI, partner_payload
) -> None:
    """The client reuses its token and fetches a new one after a 403 Required."""
    fetches = 0

    class CountingTransport(httpx.ASGITransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal fetches
            if request.headers.get("X-CSRF-Token") == "Fetch":
                fetches += 1
            return await super().handle_async_request(request)

    transport = CountingTransport(app=erp_app)
    async with S4HanaClient(
        base_url="http://erp.test/sap/opu/odata/sap",
        username="LEDGERBRIDGE",
        password="sandbox-secret",
        transport=transport,
    ) as s4:
        await s4.create(BP, "A_BusinessPartner", partner_payload("A", "1"))
        await s4.create(BP, "A_BusinessPartner", partner_payload("B", "2"))
        assert fetches == 1
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=erp_app), auth=("LEDGERBRIDGE", "sandbox-secret")
        ) as admin:
            expired = await admin.post("http://erp.test/sandbox/admin/csrf/invalidate")
            assert expired.status_code == 204
        created = await s4.create(BP, "A_BusinessPartner", partner_payload("C", "3"))
        assert created.properties["BusinessPartner"] == "1000002"
        assert fetches == 2


async def test_wrong_password_raises_auth_failed(erp_app: FastAPI) -> None:
    """Basic auth with a wrong password raises AuthFailed."""
    async with S4HanaClient(
        base_url="http://erp.test/sap/opu/odata/sap",
        username="LEDGERBRIDGE",
        password="wrong",
        transport=httpx.ASGITransport(app=erp_app),
    ) as s4:
        with pytest.raises(AuthFailed):
            await s4.query(BP, "A_BusinessPartner")


async def test_connection_failure_raises_backend_unavailable() -> None:
    """A refused connection surfaces as BackendUnavailable, never as an httpx error."""
    async with S4HanaClient(
        base_url="http://127.0.0.1:9/sap/opu/odata/sap",
        username="LEDGERBRIDGE",
        password="sandbox-secret",
        timeout=2.0,
    ) as s4:
        with pytest.raises(BackendUnavailable) as caught:
            await s4.get(BP, "A_BusinessPartner", "1000000")
    assert caught.value.backend == "s4hana"


async def test_server_error_raises_backend_unavailable() -> None:
    """A 5xx answer surfaces as BackendUnavailable with the SAP message."""

    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            503,
            json={
                "error": {"code": "X", "message": {"lang": "en", "value": "down for maintenance"}}
            },
        )

    async with S4HanaClient(
        base_url="http://erp.test/sap/opu/odata/sap",
        username="u",
        password="p",
        transport=httpx.MockTransport(failing),
    ) as s4:
        with pytest.raises(BackendUnavailable, match="down for maintenance"):
            await s4.query(BP, "A_BusinessPartner")


async def test_count_with_and_without_filter(s4: S4HanaClient, partner_payload) -> None:
    """count() reads /$count, honouring the filter."""
    for name in ("North", "South", "Northeast"):
        await s4.create(BP, "A_BusinessPartner", partner_payload(name))
    assert await s4.count(BP, "A_BusinessPartner") == 3
    filtered = await s4.count(
        BP, "A_BusinessPartner", filter="startswith(OrganizationBPName1, 'North')"
    )
    assert filtered == 2


async def test_server_driven_paging_is_followed(partner_payload) -> None:
    """With a page size of 2 the sandbox links pages by __next; query() follows them all."""
    app = create_app(page_size=2)
    async with (
        S4HanaClient(
            base_url="http://erp.test/sap/opu/odata/sap",
            username="LEDGERBRIDGE",
            password="sandbox-secret",
            transport=httpx.ASGITransport(app=app),
        ) as s4,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            auth=("LEDGERBRIDGE", "sandbox-secret"),
            headers={"Accept": "application/json"},
        ) as raw,
    ):
        for index in range(5):
            await s4.create(BP, "A_BusinessPartner", partner_payload(f"P{index}"))
        first = (
            await raw.get(
                "http://erp.test/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner",
                params={"$inlinecount": "allpages", "$orderby": "BusinessPartner desc"},
            )
        ).json()["d"]
        assert len(first["results"]) == 2
        assert first["__count"] == "5"
        assert first["__next"].startswith("http://erp.test/sap/opu/odata/sap/API_BUSINESS_PARTNER/")
        everything = await s4.query(BP, "A_BusinessPartner", orderby="BusinessPartner desc")
        numbers = [e.properties["BusinessPartner"] for e in everything]
        assert numbers == ["1000004", "1000003", "1000002", "1000001", "1000000"]
        limited = await s4.query(BP, "A_BusinessPartner", top=3, skip=1)
        assert [e.properties["BusinessPartner"] for e in limited] == [
            "1000001",
            "1000002",
            "1000003",
        ]
