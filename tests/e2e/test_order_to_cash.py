"""One order through all three layers: CRM order -> ERP sales order -> CRM link -> portal."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ledgerbridge.connectors.s4hana import odata_literal
from ledgerbridge.demo.seed import s4_product
from tests.e2e.conftest import Deployment

PROBLEM = "application/problem+json"


async def _crm_order(deployment: Deployment, *, with_product_code: bool = True) -> dict[str, str]:
    """An account, two products and a two-line order in the CRM; the products also in the ERP.

    Product codes are unique per call, so tests can share one pair of sandboxes.
    """
    crm = deployment.crm
    suffix = uuid.uuid4().hex[:8].upper()
    fx_code, custody_code = f"FX-HEDGE-{suffix}", f"CUSTODY-{suffix}"
    product_code = fx_code if with_product_code else None
    for code, name in ((product_code, "FX hedging"), (custody_code, "Custody account")):
        if code is not None:
            await deployment.erp.create("API_PRODUCT_SRV", "A_Product", s4_product(code, name))
    account_id = await crm.create(
        "Account",
        {
            "Name": "Meridian Capital Partners",
            "AccountNumber": "CUST-00042",
            "BillingStreet": "12 Taunusanlage",
            "BillingCity": "Frankfurt am Main",
            "BillingPostalCode": "60325",
            "BillingCountry": "DE",
            "CurrencyIsoCode": "EUR",
        },
    )
    first = await crm.create(
        "Product2",
        {
            "Name": "FX hedging",
            "ProductCode": product_code,
            "IsActive": True,
            "QuantityUnitOfMeasure": "Each",
        },
    )
    second = await crm.create(
        "Product2",
        {
            "Name": "Custody account",
            "ProductCode": custody_code,
            "IsActive": True,
            "QuantityUnitOfMeasure": "Each",
        },
    )
    order_id = await crm.create(
        "Order",
        {
            "AccountId": account_id,
            "EffectiveDate": "2026-11-20",
            "Status": "Draft",
            "CurrencyIsoCode": "EUR",
            "PoNumber": "PO-77120",
        },
    )
    for product_id, quantity, price in ((first, 3, "199.90"), (second, 2, "49.50")):
        await crm.create(
            "OrderItem",
            {
                "OrderId": order_id,
                "Product2Id": product_id,
                "Quantity": quantity,
                "UnitPrice": price,
            },
        )
    return {"account": account_id, "order": order_id, "fx": fx_code, "custody": custody_code}


async def _erp_orders_for(deployment: Deployment, crm_order_id: str) -> list[dict[str, object]]:
    found = await deployment.erp.query(
        "API_SALES_ORDER_SRV",
        "A_SalesOrder",
        filter=f"PurchaseOrderByCustomer eq {odata_literal(crm_order_id)}",
        expand=("to_Item",),
    )
    return [entity.properties for entity in found]


async def test_order_becomes_erp_sales_order_and_portal_shows_it(deployment: Deployment) -> None:
    """A CRM order comes out as one ERP sales order with matching fields, linked back, visible."""
    ids = await _crm_order(deployment)

    response = await deployment.process.post(
        "/process/order-to-cash/v1/orders", json={"crm_order_id": ids["order"]}
    )
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["status"] == "in_erp"
    assert [s["name"] for s in case["steps"]] == [
        "ensure-customer",
        "create-sales-order",
        "link-crm-order",
    ]
    erp_number = case["erp_order_number"]

    (sales_order,) = await _erp_orders_for(deployment, ids["order"])
    assert sales_order["SalesOrder"] == erp_number
    assert sales_order["SoldToParty"] == case["customer_erp_id"]
    assert sales_order["PurchaseOrderByCustomer"] == ids["order"]
    assert sales_order["TransactionCurrency"] == "EUR"
    assert Decimal(str(sales_order["TotalNetAmount"])) == Decimal("698.70")
    items = sorted(
        (i["Material"], Decimal(str(i["RequestedQuantity"]))) for i in sales_order["to_Item"]
    )
    assert items == [(ids["custody"], Decimal(2)), (ids["fx"], Decimal(3))]

    (partner,) = [
        e.properties
        for e in await deployment.erp.query(
            "API_BUSINESS_PARTNER",
            "A_BusinessPartner",
            filter=f"BusinessPartnerIDByExtSystem eq {odata_literal(ids['account'])}",
        )
    ]
    assert partner["BusinessPartner"] == case["customer_erp_id"]
    assert partner["OrganizationBPName1"] == "Meridian Capital Partners"

    crm_order = await deployment.crm.get("Order", ids["order"])
    assert crm_order.fields["ERP_Order_Number__c"] == erp_number

    portal = await deployment.experience.get(
        f"/experience/customer-portal/v1/orders/{ids['order']}/status"
    )
    assert portal.status_code == 200, portal.text
    assert portal.json()["status"] == "in_erp"
    assert portal.json()["erp_order_number"] == erp_number


async def test_running_twice_leaves_exactly_one_erp_order(deployment: Deployment) -> None:
    """A second run of the same order answers 200 with the same case and creates nothing."""
    ids = await _crm_order(deployment)
    url = "/process/order-to-cash/v1/orders"
    first = await deployment.process.post(url, json={"crm_order_id": ids["order"]})
    second = await deployment.process.post(url, json={"crm_order_id": ids["order"]})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["case_id"] == first.json()["case_id"]
    assert len(await _erp_orders_for(deployment, ids["order"])) == 1


async def test_unknown_order_is_404_and_writes_no_case(deployment: Deployment) -> None:
    """An order id the CRM does not know gets 404 problem+json and leaves no case."""
    unknown = "801000000000000AAA"
    response = await deployment.process.post(
        "/process/order-to-cash/v1/orders", json={"crm_order_id": unknown}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    case = await deployment.process.get(f"/process/order-to-cash/v1/orders/{unknown}")
    assert case.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"crm_order_id": "not an id!"}, "crm_order_id"),
        ({}, "crm_order_id"),
        ({"crm_order_id": "801000000000000AAA", "extra": 1}, "extra"),
    ],
)
async def test_malformed_body_names_the_field(
    deployment: Deployment, body: dict[str, object], field: str
) -> None:
    """A malformed request gets 422 problem+json naming the offending field."""
    response = await deployment.process.post("/process/order-to-cash/v1/orders", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_mapping_failure_names_the_field_and_writes_no_case(deployment: Deployment) -> None:
    """An order whose product has no code cannot be mapped: 422 naming it, no case, no ERP order."""
    ids = await _crm_order(deployment, with_product_code=False)
    response = await deployment.process.post(
        "/process/order-to-cash/v1/orders", json={"crm_order_id": ids["order"]}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/mapping")
    assert any("ProductCode" in e["field"] for e in problem["errors"]), problem
    case = await deployment.process.get(f"/process/order-to-cash/v1/orders/{ids['order']}")
    assert case.status_code == 404
    assert await _erp_orders_for(deployment, ids["order"]) == []


async def test_idempotency_key_replays_the_first_answer(deployment: Deployment) -> None:
    """The same Idempotency-Key replays the 201; reused with another body it is a 422."""
    ids = await _crm_order(deployment)
    url = "/process/order-to-cash/v1/orders"
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    first = await deployment.process.post(url, json={"crm_order_id": ids["order"]}, headers=key)
    again = await deployment.process.post(url, json={"crm_order_id": ids["order"]}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    other = await deployment.process.post(
        url, json={"crm_order_id": "801000000000000AAA"}, headers=key
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert len(await _erp_orders_for(deployment, ids["order"])) == 1
