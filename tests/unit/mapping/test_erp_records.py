"""Golden tests: S/4HANA OData V2 records into canonical models, and canonical into ERP bodies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledgerbridge.canonical import (
    Address,
    CreditLimit,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    Party,
    Payment,
    Price,
    Product,
    ReceivableItem,
)
from ledgerbridge.mapping import apply, load_mapping
from ledgerbridge.runtime.errors import MappingError


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


@pytest.fixture
def billing_document() -> dict[str, Any]:
    """An A_BillingDocument with to_Item expanded, as the d of a GET."""
    return {
        "BillingDocument": "90000042",
        "BillingDocumentType": "F2",
        "BillingDocumentDate": "/Date(1795478400000)/",
        "BillingDocumentIsCancelled": False,
        "InvoiceClearingStatus": "A",
        "SoldToParty": "17100001",
        "PayerParty": "17100001",
        "PurchaseOrderByCustomer": "PO-4711",
        "CompanyCode": "1010",
        "FiscalYear": "2026",
        "AccountingDocument": "1800000012",
        "TransactionCurrency": "EUR",
        "TotalNetAmount": "210.12",
        "TaxAmount": "39.92",
        "TotalGrossAmount": "250.04",
        "to_Item": {
            "results": [
                {
                    "BillingDocumentItem": "10",
                    "Material": "GC1040",
                    "BillingDocumentItemText": "GenWatt Diesel 200kW",
                    "BillingQuantity": "3",
                    "BillingQuantityUnit": "EA",
                    "NetAmount": "59.97",
                    "TaxAmount": "11.39",
                    "TransactionCurrency": "EUR",
                    "SalesDocument": "1000123",
                    "SalesDocumentItem": "10",
                },
                {
                    "BillingDocumentItem": "20",
                    "Material": "SL9040",
                    "BillingDocumentItemText": "Installation",
                    "BillingQuantity": "1.5",
                    "BillingQuantityUnit": "H",
                    "NetAmount": "150.15",
                    "TaxAmount": "28.53",
                    "TransactionCurrency": "EUR",
                    "SalesDocument": "1000123",
                    "SalesDocumentItem": "20",
                },
            ]
        },
    }


def test_billing_document_becomes_invoice(billing_document: dict[str, Any]) -> None:
    """Header, totals and items map; the date comes from /Date(ms)/."""
    invoice = load_mapping("s4_billing_document_to_invoice").to_model(billing_document, Invoice)
    assert invoice == Invoice(
        erp_number="90000042",
        customer_erp_id="17100001",
        order_erp_number="1000123",
        po_number="PO-4711",
        company_code="1010",
        fiscal_year="2026",
        accounting_document="1800000012",
        invoice_date=date(2026, 11, 24),
        currency="EUR",
        status=InvoiceStatus.OPEN,
        lines=[
            InvoiceLine(
                item_number="10",
                product_sku="GC1040",
                description="GenWatt Diesel 200kW",
                quantity=Decimal(3),
                unit="EA",
                net_amount=eur("59.97"),
                tax_amount=eur("11.39"),
                order_erp_number="1000123",
                order_item_number="10",
            ),
            InvoiceLine(
                item_number="20",
                product_sku="SL9040",
                description="Installation",
                quantity=Decimal("1.5"),
                unit="H",
                net_amount=eur("150.15"),
                tax_amount=eur("28.53"),
                order_erp_number="1000123",
                order_item_number="20",
            ),
        ],
        net_total=eur("210.12"),
        tax_total=eur("39.92"),
        gross_total=eur("250.04"),
    )


@pytest.mark.parametrize(
    ("cancelled", "clearing", "status"),
    [
        (False, "A", InvoiceStatus.OPEN),
        (False, "", InvoiceStatus.OPEN),
        (False, "B", InvoiceStatus.PARTIALLY_PAID),
        (False, "C", InvoiceStatus.PAID),
        (True, "C", InvoiceStatus.CANCELLED),
    ],
)
def test_invoice_status_from_cancellation_and_clearing(
    billing_document: dict[str, Any], cancelled: bool, clearing: str, status: InvoiceStatus
) -> None:
    """Cancelled wins; otherwise the clearing status says open, partially paid or paid."""
    billing_document |= {"BillingDocumentIsCancelled": cancelled, "InvoiceClearingStatus": clearing}
    invoice = load_mapping("s4_billing_document_to_invoice").to_model(billing_document, Invoice)
    assert invoice.status is status


AR_ITEM = {
    "CompanyCode": "1010",
    "FiscalYear": "2026",
    "AccountingDocument": "1800000012",
    "AccountingDocumentItem": "1",
    "AccountingDocumentType": "RV",
    "Customer": "17100001",
    "BillingDocument": "90000042",
    "AssignmentReference": "PO-4711",
    "DocumentDate": "/Date(1795478400000)/",
    "NetDueDate": "/Date(1798070400000)/",
    "AmountInTransactionCurrency": "250.04",
    "TransactionCurrency": "EUR",
    "IsCleared": False,
    "ClearingDate": None,
    "ClearingAccountingDocument": "",
}


def test_accounting_item_becomes_receivable_item() -> None:
    """An open customer item maps with its due date and signed amount."""
    item = load_mapping("s4_receivable_item_to_receivable_item").to_model(AR_ITEM, ReceivableItem)
    assert item == ReceivableItem(
        company_code="1010",
        fiscal_year="2026",
        accounting_document="1800000012",
        item="1",
        customer_erp_id="17100001",
        invoice_erp_number="90000042",
        reference="PO-4711",
        document_date=date(2026, 11, 24),
        due_date=date(2026, 12, 24),
        amount=eur("250.04"),
    )


def test_cleared_item_without_clearing_date_is_a_mapping_error() -> None:
    """IsCleared without a ClearingDate breaks the ReceivableItem rule, traced to ClearingDate."""
    with pytest.raises(MappingError) as caught:
        load_mapping("s4_receivable_item_to_receivable_item").to_model(
            AR_ITEM | {"IsCleared": True}, ReceivableItem
        )
    assert (caught.value.record_id, caught.value.field) == ("1800000012", "ClearingDate")


def test_incoming_payment_item_becomes_payment() -> None:
    """The negative customer credit of a DZ document is a positive payment of that invoice."""
    item = AR_ITEM | {
        "AccountingDocument": "1400000007",
        "AccountingDocumentType": "DZ",
        "PostingDate": "/Date(1796083200000)/",
        "AmountInTransactionCurrency": "-250.04",
        "InvoiceReference": "1800000012",
        "PaymentReference": "RF18 5390 0754 7034",
        "BillingDocument": "",
    }
    payment = load_mapping("s4_payment_item_to_payment").to_model(item, Payment)
    assert payment == Payment(
        erp_document="1400000007",
        company_code="1010",
        fiscal_year="2026",
        customer_erp_id="17100001",
        payment_date=date(2026, 12, 1),
        amount=eur("250.04"),
        reference="RF18 5390 0754 7034",
        invoice_erp_numbers=["1800000012"],
    )


def test_pricing_condition_becomes_price() -> None:
    """PR00 per 10 EA, with the ERP's open end read as no end."""
    record = {
        "ConditionRecord": "0000012345",
        "ConditionType": "PR00",
        "ConditionRateValue": "199.900000000",
        "ConditionRateValueUnit": "EUR",
        "ConditionQuantity": "10",
        "ConditionQuantityUnit": "EA",
        "ConditionIsDeleted": False,
        "to_SlsPrcgCndnRecdValidity": {
            "results": [
                {
                    "ConditionRecord": "0000012345",
                    "ConditionValidityStartDate": "/Date(1767225600000)/",
                    "ConditionValidityEndDate": "/Date(253402214400000)/",
                    "Material": "GC1040",
                    "SalesOrganization": "1010",
                    "DistributionChannel": "10",
                }
            ]
        },
    }
    price = load_mapping("s4_pricing_condition_to_price").to_model(record, Price)
    assert price == Price(
        erp_id="0000012345",
        product_sku="GC1040",
        sales_organization="1010",
        distribution_channel="10",
        unit_price=eur("199.9"),
        per_quantity=Decimal(10),
        unit="EA",
        valid_from=date(2026, 1, 1),
    )


def test_price_becomes_pricing_condition_payload() -> None:
    """A price without an end date is sent with the ERP's open end."""
    price = Price(
        product_sku="GC1040", unit_price=eur("199.90"), unit="EA", valid_from=date(2026, 1, 1)
    )
    assert apply("price_to_s4_pricing_condition", price) == {
        "ConditionApplication": "V",
        "ConditionType": "PR00",
        "ConditionTable": "304",
        "ConditionRateValue": "199.90",
        "ConditionRateValueUnit": "EUR",
        "ConditionQuantity": "1",
        "ConditionQuantityUnit": "EA",
        "to_SlsPrcgCndnRecdValidity": {
            "results": [
                {
                    "ConditionApplication": "V",
                    "ConditionType": "PR00",
                    "ConditionValidityStartDate": "/Date(1767225600000)/",
                    "ConditionValidityEndDate": "/Date(253402214400000)/",
                    "Material": "GC1040",
                    "SalesOrganization": "1010",
                    "DistributionChannel": "10",
                }
            ]
        },
    }


def test_product_payload_and_read_back() -> None:
    """A product becomes a trading good with an English description, and reads back."""
    product = Product(sku="GC1040", name="GenWatt Diesel 200kW", unit="EA", active=False)
    payload = apply("product_to_s4_product", product)
    assert payload == {
        "Product": "GC1040",
        "ProductType": "HAWA",
        "BaseUnit": "EA",
        "IsMarkedForDeletion": True,
        "to_Description": {
            "results": [
                {
                    "Product": "GC1040",
                    "Language": "EN",
                    "ProductDescription": "GenWatt Diesel 200kW",
                }
            ]
        },
    }
    german_first = payload | {
        "to_Description": {
            "results": [
                {"Language": "DE", "ProductDescription": "GenWatt Dieselaggregat"},
                {"Language": "EN", "ProductDescription": "GenWatt Diesel 200kW"},
            ]
        }
    }
    back = load_mapping("s4_product_to_product").to_model(german_first, Product)
    assert back == product.model_copy(update={"erp_id": "GC1040"})


def test_business_partner_becomes_party() -> None:
    """An organisation with its first address maps to a Party with both ids."""
    record = {
        "BusinessPartner": "17100001",
        "BusinessPartnerCategory": "2",
        "OrganizationBPName1": "Edge Communications",
        "BusinessPartnerFullName": "Edge Communications",
        "BusinessPartnerIDByExtSystem": "0015g00000XyZ12AAB",
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
    assert load_mapping("s4_business_partner_to_party").to_model(record, Party) == Party(
        erp_id="17100001",
        crm_id="0015g00000XyZ12AAB",
        name="Edge Communications",
        billing_address=Address(
            street="312 Constitution Place",
            city="Austin",
            postal_code="78767",
            region="TX",
            country="US",
        ),
    )


def test_credit_account_becomes_credit_limit() -> None:
    """Limit, currency, validity and block flag map; the limit is exact."""
    record = {
        "BusinessPartner": "17100001",
        "CreditSegment": "1000",
        "CreditLimitAmount": "50000.00",
        "CreditSegmentCurrency": "EUR",
        "CreditLimitValidityEndDate": "/Date(1798675200000)/",
        "CreditAccountIsBlocked": False,
    }
    assert load_mapping("s4_credit_account_to_credit_limit").to_model(
        record, CreditLimit
    ) == CreditLimit(
        customer_erp_id="17100001",
        credit_segment="1000",
        limit=eur("50000.00"),
        valid_to=date(2026, 12, 31),
    )
