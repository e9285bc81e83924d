"""Golden tests: Salesforce REST records into canonical models."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ledgerbridge.canonical import (
    Address,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Party,
    Product,
)
from ledgerbridge.mapping import Lineage, load_mapping


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_account_becomes_party(sf_account: dict[str, Any]) -> None:
    """Every mapped Account field lands on the Party; the country name becomes its code."""
    party = load_mapping("salesforce_account_to_party").to_model(sf_account, Party)
    assert party == Party(
        crm_id="0015g00000XyZ12AAB",
        erp_id="17100001",
        name="Edge Communications",
        account_number="CD451796",
        billing_address=Address(
            street="312 Constitution Place\nAustin, TX 78767\nUSA",
            city="Austin",
            postal_code="78767",
            region="TX",
            country="US",
        ),
        phone="(512) 757-6000",
        currency="USD",
    )


def test_account_without_billing_address_has_none(sf_account: dict[str, Any]) -> None:
    """An Account with no billing fields maps to a Party whose billing_address is None."""
    for name in [
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "BillingCountry",
    ]:
        sf_account[name] = None
    party = load_mapping("salesforce_account_to_party").to_model(sf_account, Party)
    assert party.billing_address is None


def test_account_country_code_field_wins_over_free_text(sf_account: dict[str, Any]) -> None:
    """BillingCountryCode (state and country picklists) is preferred to BillingCountry."""
    sf_account |= {"BillingCountryCode": "CA", "BillingCountry": "Canada"}
    party = load_mapping("salesforce_account_to_party").to_model(sf_account, Party)
    assert party.billing_address is not None
    assert party.billing_address.country == "CA"


def test_product2_becomes_product(sf_product: dict[str, Any]) -> None:
    """ProductCode is the SKU and the unit label becomes the ERP unit code."""
    product = load_mapping("salesforce_product_to_product").to_model(sf_product, Product)
    assert product == Product(
        crm_id="01t5g000001AbCdAAK",
        sku="GC1040",
        name="GenWatt Diesel 200kW",
        unit="EA",
        active=True,
    )


def test_product2_defaults_unit_and_reads_inactive(sf_product: dict[str, Any]) -> None:
    """No unit of measure means EA; IsActive false stays false."""
    sf_product |= {"QuantityUnitOfMeasure": None, "IsActive": False}
    product = load_mapping("salesforce_product_to_product").to_model(sf_product, Product)
    assert (product.unit, product.active) == ("EA", False)


def test_order_with_items_becomes_order(sf_order: dict[str, Any]) -> None:
    """The order, its parent's ERP id and each item map; JSON numbers become exact Decimals."""
    order = load_mapping("salesforce_order_to_order").to_model(sf_order, Order)
    assert order == Order(
        crm_id="8015g00000ABCdEAAX",
        crm_number="00000107",
        customer_crm_id="0015g00000XyZ12AAB",
        customer_erp_id="17100001",
        order_date=date(2026, 11, 20),
        currency="EUR",
        status=OrderStatus.ACTIVATED,
        po_number="PO-4711",
        lines=[
            OrderLine(
                line_number=1,
                product_sku="GC1040",
                product_crm_id="01t5g000001AbCdAAK",
                description="GenWatt Diesel 200kW",
                quantity=Decimal("3.0"),
                unit="EA",
                unit_price=eur("19.99"),
                net_amount=eur("59.97"),
            ),
            OrderLine(
                line_number=2,
                product_sku="SL9040",
                product_crm_id="01t5g000001AbCeAAK",
                quantity=Decimal("1.5"),
                unit="H",
                unit_price=eur("100.1"),
                net_amount=eur("150.15"),
            ),
        ],
        net_total=eur("210.12"),
    )
    assert str(order.lines[1].unit_price.amount) == "100.1"


def test_order_items_without_numbers_are_numbered_by_position(sf_order: dict[str, Any]) -> None:
    """Missing OrderItemNumber falls back to the 1-based position in OrderItems."""
    for item in sf_order["OrderItems"]["records"]:
        del item["OrderItemNumber"]
    order = load_mapping("salesforce_order_to_order").to_model(sf_order, Order)
    assert [line.line_number for line in order.lines] == [1, 2]


def test_order_total_prefers_salesforce_total_amount(sf_order: dict[str, Any]) -> None:
    """When TotalAmount is selected it is the total, and must still equal the lines' sum."""
    sf_order["TotalAmount"] = 210.12
    data = load_mapping("salesforce_order_to_order").apply(sf_order)
    assert data["net_total"] == {"amount": Decimal("210.12"), "currency": "EUR"}


def test_order_lineage_names_each_source_field() -> None:
    """Lineage lists every target with its source path and rule, child fields flattened."""
    lineage = load_mapping("salesforce_order_to_order").lineage()
    assert Lineage("Status", "status", "value_map:salesforce_order_status") in lineage
    assert (
        Lineage("OrderItems.records", "lines", "each:salesforce_orderitem_to_orderline") in lineage
    )
    assert (
        Lineage("OrderItems.records[].TotalPrice", "lines[].net_amount.amount", "decimal")
        in lineage
    )
    assert (
        Lineage(
            "OrderItems.records[].CurrencyIsoCode | CurrencyIsoCode",
            "lines[].unit_price.currency",
            "currency",
        )
        in lineage
    )


def test_order_status_written_back(sf_order: dict[str, Any]) -> None:
    """An order in the ERP goes back to Salesforce with its ERP number and status label."""
    order = load_mapping("salesforce_order_to_order").to_model(sf_order, Order)
    in_erp = order.model_copy(update={"erp_number": "1000123", "status": OrderStatus.IN_ERP})
    assert load_mapping("order_to_salesforce_order").apply(in_erp) == {
        "AccountId": "0015g00000XyZ12AAB",
        "EffectiveDate": "2026-11-20",
        "Status": "In ERP",
        "CurrencyIsoCode": "EUR",
        "PoNumber": "PO-4711",
        "ERP_Order_Number__c": "1000123",
    }
