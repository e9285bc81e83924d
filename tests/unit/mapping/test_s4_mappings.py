"""Golden tests: canonical models into S/4HANA deep-insert payloads, and sales orders read back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledgerbridge.canonical import (
    Address,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Party,
    SalesOrderItem,
    SalesOrderState,
)
from ledgerbridge.mapping import apply, load_mapping


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_party_becomes_business_partner_payload() -> None:
    """An organisation with its address; the search term is upper case and 20 characters."""
    party = Party(
        crm_id="0015g00000XyZ12AAB",
        name="Edge Communications International",
        billing_address=Address(
            street="312 Constitution Place",
            city="Austin",
            postal_code="78767",
            region="TX",
            country="US",
        ),
    )
    assert apply("party_to_s4_business_partner", party) == {
        "BusinessPartnerCategory": "2",
        "OrganizationBPName1": "Edge Communications International",
        "BusinessPartnerFullName": "Edge Communications International",
        "SearchTerm1": "EDGE COMMUNICATIONS ",
        "BusinessPartnerIDByExtSystem": "0015g00000XyZ12AAB",
        "to_Customer": {"CustomerAccountGroup": "CUST"},
        "to_BusinessPartnerAddress": {
            "results": [
                {
                    "StreetName": "312 Constitution Place",
                    "CityName": "Austin",
                    "PostalCode": "78767",
                    "Region": "TX",
                    "Country": "US",
                }
            ]
        },
    }


def test_party_without_address_sends_no_address() -> None:
    """No billing address means no to_BusinessPartnerAddress at all, not an empty one."""
    payload = apply("party_to_s4_business_partner", Party(crm_id="001A", name="Acme"))
    assert "to_BusinessPartnerAddress" not in payload


def sample_order(**changes: Any) -> Order:
    fields: dict[str, Any] = {
        "crm_id": "8015g00000ABCdEAAX",
        "crm_number": "00000107",
        "customer_erp_id": "17100001",
        "order_date": date(2026, 11, 20),
        "currency": "EUR",
        "status": OrderStatus.ACTIVATED,
        "po_number": "PO-4711",
        "lines": [
            OrderLine(
                line_number=1,
                product_sku="GC1040",
                description="GenWatt Diesel 200kW",
                quantity=Decimal(3),
                unit="EA",
                unit_price=eur("19.99"),
                net_amount=eur("59.97"),
            ),
            OrderLine(
                line_number=2,
                product_sku="SL9040",
                quantity=Decimal("1.5"),
                unit="H",
                unit_price=eur("100.10"),
                net_amount=eur("150.15"),
            ),
        ],
        "net_total": eur("210.12"),
    }
    return Order(**(fields | changes))


def test_order_becomes_sales_order_payload() -> None:
    """Header constants, the OData date, items numbered 10, 20 and decimals as strings."""
    assert apply("order_to_s4_sales_order", sample_order()) == {
        "SalesOrderType": "OR",
        "SalesOrganization": "1010",
        "DistributionChannel": "10",
        "OrganizationDivision": "00",
        "SoldToParty": "17100001",
        "PurchaseOrderByCustomer": "8015g00000ABCdEAAX",
        "SalesOrderDate": "/Date(1795132800000)/",
        "TransactionCurrency": "EUR",
        "to_Item": {
            "results": [
                {
                    "SalesOrderItem": "10",
                    "Material": "GC1040",
                    "SalesOrderItemText": "GenWatt Diesel 200kW",
                    "RequestedQuantity": "3",
                    "RequestedQuantityUnit": "EA",
                    "to_PricingElement": {
                        "results": [
                            {
                                "ConditionType": "PR00",
                                "ConditionRateValue": "19.99",
                                "ConditionCurrency": "EUR",
                            }
                        ]
                    },
                },
                {
                    "SalesOrderItem": "20",
                    "Material": "SL9040",
                    "RequestedQuantity": "1.5",
                    "RequestedQuantityUnit": "H",
                    "to_PricingElement": {
                        "results": [
                            {
                                "ConditionType": "PR00",
                                "ConditionRateValue": "100.10",
                                "ConditionCurrency": "EUR",
                            }
                        ]
                    },
                },
            ]
        },
    }


def test_customer_reference_is_the_crm_order_id() -> None:
    """PurchaseOrderByCustomer carries the CRM order id, with or without a PO number."""
    for po_number in (None, "PO-1"):
        payload = apply("order_to_s4_sales_order", sample_order(po_number=po_number))
        assert payload["PurchaseOrderByCustomer"] == "8015g00000ABCdEAAX"
        assert "ExternalDocumentID" not in payload


def test_sales_order_reads_back_as_state(s4_sales_order: dict[str, Any]) -> None:
    """Number, reference, total and items come back; the PR00 price is picked among conditions."""
    state = load_mapping("s4_sales_order_to_order_status").to_model(s4_sales_order, SalesOrderState)
    assert state == SalesOrderState(
        erp_number="1000123",
        external_reference="8015g00000ABCdEAAX",
        customer_erp_id="17100001",
        order_date=date(2026, 11, 20),
        currency="EUR",
        status=OrderStatus.IN_ERP,
        net_total=eur("210.12"),
        lines=[
            SalesOrderItem(
                item_number="10",
                product_sku="GC1040",
                description="GenWatt Diesel 200kW",
                quantity=Decimal(3),
                unit="EA",
                unit_price=eur("19.99"),
                net_amount=eur("59.97"),
            ),
            SalesOrderItem(
                item_number="20",
                product_sku="SL9040",
                quantity=Decimal("1.5"),
                unit="H",
                net_amount=eur("150.15"),
            ),
        ],
    )


@pytest.mark.parametrize(
    ("process", "credit", "rejection", "status"),
    [
        ("A", "A", "A", OrderStatus.IN_ERP),
        ("B", "", "", OrderStatus.IN_ERP),
        ("A", "B", "A", OrderStatus.CREDIT_HOLD),
        ("B", "C", "A", OrderStatus.CREDIT_HOLD),
        ("A", "D", "A", OrderStatus.IN_ERP),
        ("C", "A", "A", OrderStatus.FULFILLED),
        ("C", "B", "A", OrderStatus.FULFILLED),
        ("A", "B", "C", OrderStatus.CANCELLED),
        (None, None, None, OrderStatus.IN_ERP),
    ],
)
def test_sales_order_status_from_sd_and_credit_statuses(
    s4_sales_order: dict[str, Any],
    process: str | None,
    credit: str | None,
    rejection: str | None,
    status: OrderStatus,
) -> None:
    """Rejection cancels, completion fulfils, a blocked credit check holds, else in ERP."""
    s4_sales_order |= {
        "OverallSDProcessStatus": process,
        "TotalCreditCheckStatus": credit,
        "OverallSDDocumentRejectionSts": rejection,
    }
    state = load_mapping("s4_sales_order_to_order_status").to_model(s4_sales_order, SalesOrderState)
    assert state.status is status
