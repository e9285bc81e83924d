"""Realistic backend records, shaped as the Salesforce REST and S/4HANA OData V2 JSON bodies."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def sf_account() -> dict[str, Any]:
    """An Account as GET /sobjects/Account/<id> returns it, with the ERP id custom field."""
    return {
        "attributes": {
            "type": "Account",
            "url": "/services/data/v59.0/sobjects/Account/0015g00000XyZ12AAB",
        },
        "Id": "0015g00000XyZ12AAB",
        "Name": "Edge Communications",
        "AccountNumber": "CD451796",
        "BillingStreet": "312 Constitution Place\nAustin, TX 78767\nUSA",
        "BillingCity": "Austin",
        "BillingState": "TX",
        "BillingPostalCode": "78767",
        "BillingCountry": "United States",
        "Phone": "(512) 757-6000",
        "CurrencyIsoCode": "USD",
        "ERP_Customer_Id__c": "17100001",
        "Industry": "Electronics",
    }


@pytest.fixture
def sf_product() -> dict[str, Any]:
    """A Product2 record."""
    return {
        "attributes": {"type": "Product2"},
        "Id": "01t5g000001AbCdAAK",
        "Name": "GenWatt Diesel 200kW",
        "ProductCode": "GC1040",
        "IsActive": True,
        "QuantityUnitOfMeasure": "Each",
        "Family": "None",
    }


@pytest.fixture
def sf_order() -> dict[str, Any]:
    """An Order queried with its Account parent and OrderItems child relationship."""
    return {
        "attributes": {"type": "Order"},
        "Id": "8015g00000ABCdEAAX",
        "OrderNumber": "00000107",
        "AccountId": "0015g00000XyZ12AAB",
        "Account": {"attributes": {"type": "Account"}, "ERP_Customer_Id__c": "17100001"},
        "EffectiveDate": "2026-11-20",
        "Status": "Activated",
        "CurrencyIsoCode": "EUR",
        "PoNumber": "PO-4711",
        "ERP_Order_Number__c": None,
        "OrderItems": {
            "totalSize": 2,
            "done": True,
            "records": [
                {
                    "attributes": {"type": "OrderItem"},
                    "Id": "8025g00000KLMnOAAX",
                    "OrderItemNumber": "0000000001",
                    "Product2Id": "01t5g000001AbCdAAK",
                    "Product2": {"ProductCode": "GC1040", "QuantityUnitOfMeasure": "Each"},
                    "Description": "GenWatt Diesel 200kW",
                    "Quantity": 3.0,
                    "UnitPrice": 19.99,
                    "TotalPrice": 59.97,
                },
                {
                    "attributes": {"type": "OrderItem"},
                    "Id": "8025g00000KLMnPAAX",
                    "OrderItemNumber": "0000000002",
                    "Product2Id": "01t5g000001AbCeAAK",
                    "Product2": {"ProductCode": "SL9040", "QuantityUnitOfMeasure": "Hour"},
                    "Description": None,
                    "Quantity": 1.5,
                    "UnitPrice": 100.1,
                    "TotalPrice": 150.15,
                },
            ],
        },
    }


@pytest.fixture
def s4_sales_order() -> dict[str, Any]:
    """An A_SalesOrder as GET ...('1000123')?$expand=to_Item/to_PricingElement returns its d."""
    return {
        "__metadata": {"type": "API_SALES_ORDER_SRV.A_SalesOrderType"},
        "SalesOrder": "1000123",
        "SalesOrderType": "OR",
        "SalesOrganization": "1010",
        "SoldToParty": "17100001",
        "PurchaseOrderByCustomer": "8015g00000ABCdEAAX",
        "SalesOrderDate": "/Date(1795132800000)/",
        "TransactionCurrency": "EUR",
        "TotalNetAmount": "210.12",
        "OverallSDProcessStatus": "A",
        "TotalCreditCheckStatus": "A",
        "OverallSDDocumentRejectionSts": "A",
        "to_Item": {
            "results": [
                {
                    "SalesOrder": "1000123",
                    "SalesOrderItem": "10",
                    "Material": "GC1040",
                    "SalesOrderItemText": "GenWatt Diesel 200kW",
                    "RequestedQuantity": "3",
                    "RequestedQuantityUnit": "EA",
                    "NetAmount": "59.97",
                    "to_PricingElement": {
                        "results": [
                            {
                                "ConditionType": "PR00",
                                "ConditionRateValue": "19.990000000",
                                "ConditionCurrency": "EUR",
                            },
                            {
                                "ConditionType": "MWST",
                                "ConditionRateValue": "19.000000000",
                                "ConditionCurrency": "",
                            },
                        ]
                    },
                },
                {
                    "SalesOrder": "1000123",
                    "SalesOrderItem": "20",
                    "Material": "SL9040",
                    "SalesOrderItemText": "",
                    "RequestedQuantity": "1.5",
                    "RequestedQuantityUnit": "H",
                    "NetAmount": "150.15",
                },
            ]
        },
    }
