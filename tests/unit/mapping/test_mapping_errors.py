"""Each mapping rule fails with a MappingError naming mapping, record, source field and value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledgerbridge.canonical import Money, Order, Party, Price, Product
from ledgerbridge.mapping import load_mapping
from ledgerbridge.runtime.errors import MappingError

ORDER = "salesforce_order_to_order"


def order_error(record: dict[str, Any]) -> MappingError:
    with pytest.raises(MappingError) as caught:
        load_mapping(ORDER).to_model(record, Order)
    return caught.value


def test_required_field_missing(sf_order: dict[str, Any]) -> None:
    """A missing EffectiveDate fails the required rule on that field."""
    del sf_order["EffectiveDate"]
    error = order_error(sf_order)
    assert (error.mapping_id, error.record_id, error.field, error.value, error.rule) == (
        ORDER,
        "8015g00000ABCdEAAX",
        "EffectiveDate",
        None,
        "required",
    )
    assert f"mapping {ORDER}: record '8015g00000ABCdEAAX', field 'EffectiveDate'" in str(error)


def test_required_field_missing_in_an_item(sf_order: dict[str, Any]) -> None:
    """An item without a product code names the item's position and the child mapping."""
    sf_order["OrderItems"]["records"][1]["Product2"]["ProductCode"] = None
    error = order_error(sf_order)
    assert error.field == "OrderItems.records[1].Product2.ProductCode"
    assert error.rule == "required in salesforce_orderitem_to_orderline"
    assert error.record_id == "8015g00000ABCdEAAX"


def test_value_not_in_value_map(sf_order: dict[str, Any]) -> None:
    """An order status the value map does not know fails value_map:salesforce_order_status."""
    sf_order["Status"] = "Shipped"
    error = order_error(sf_order)
    assert (error.field, error.value) == ("Status", "Shipped")
    assert error.rule.startswith("value_map:salesforce_order_status")


def test_bad_currency(sf_order: dict[str, Any]) -> None:
    """A currency that is not ISO 4217 fails the currency rule on CurrencyIsoCode."""
    sf_order["CurrencyIsoCode"] = "EURO"
    error = order_error(sf_order)
    assert (error.field, error.value) == ("CurrencyIsoCode", "EURO")
    assert error.rule.startswith("currency")


def test_line_invariant_broken(sf_order: dict[str, Any]) -> None:
    """A TotalPrice that is not Quantity x UnitPrice is traced back to TotalPrice."""
    sf_order["OrderItems"]["records"][1]["TotalPrice"] = 150.16
    error = order_error(sf_order)
    assert (error.field, error.value) == ("OrderItems.records[1].TotalPrice", 150.16)
    assert error.rule.startswith("Order.lines[1].net_amount:")
    assert "is not quantity 1.5 x unit price 100.1 EUR" in error.rule


def test_total_invariant_broken(sf_order: dict[str, Any]) -> None:
    """A TotalAmount that is not the sum of the lines is traced back to TotalAmount."""
    sf_order["TotalAmount"] = 999.99
    error = order_error(sf_order)
    assert (error.field, error.value) == ("TotalAmount", 999.99)
    assert error.rule.startswith("Order.net_total:")


def test_bad_date(sf_order: dict[str, Any]) -> None:
    """An EffectiveDate that is not a date fails the date rule with the value."""
    sf_order["EffectiveDate"] = "20.11.2026"
    error = order_error(sf_order)
    assert (error.field, error.value) == ("EffectiveDate", "20.11.2026")
    assert error.rule.startswith("date")


def test_bad_decimal_in_an_item(sf_order: dict[str, Any]) -> None:
    """A quantity that is not a number fails the decimal rule at the item's path."""
    sf_order["OrderItems"]["records"][0]["Quantity"] = "three"
    error = order_error(sf_order)
    assert (error.field, error.value) == ("OrderItems.records[0].Quantity", "three")
    assert error.rule.startswith("decimal")


def test_items_must_be_a_list(sf_order: dict[str, Any]) -> None:
    """OrderItems.records that is not a list fails the each rule."""
    sf_order["OrderItems"]["records"] = {"Id": "802"}
    error = order_error(sf_order)
    assert error.field == "OrderItems.records"
    assert error.rule.startswith("each:salesforce_orderitem_to_orderline")


def test_unknown_country_name(sf_account: dict[str, Any]) -> None:
    """A country text that is neither a code nor a known name fails country_iso2."""
    sf_account["BillingCountry"] = "Atlantis"
    with pytest.raises(MappingError) as caught:
        load_mapping("salesforce_account_to_party").to_model(sf_account, Party)
    error = caught.value
    assert (error.record_id, error.field, error.value) == (
        "0015g00000XyZ12AAB",
        "BillingCountry",
        "Atlantis",
    )


def test_target_model_rule_is_traced_to_its_source(sf_account: dict[str, Any]) -> None:
    """A partial address fails Address validation, named by the missing source field."""
    sf_account["BillingCity"] = None
    with pytest.raises(MappingError) as caught:
        load_mapping("salesforce_account_to_party").to_model(sf_account, Party)
    assert caught.value.field == "BillingCity"
    assert caught.value.rule.startswith("Party.billing_address.city:")


def test_explicit_record_id_wins(sf_product: dict[str, Any]) -> None:
    """A record_id passed by the caller names the record instead of the key field."""
    sf_product["IsActive"] = "maybe"
    with pytest.raises(MappingError) as caught:
        load_mapping("salesforce_product_to_product").to_model(
            sf_product, Product, record_id="batch-7/row-3"
        )
    assert (caught.value.record_id, caught.value.field, caught.value.value) == (
        "batch-7/row-3",
        "IsActive",
        "maybe",
    )


def test_customer_erp_id_is_required_for_a_sales_order(sf_order: dict[str, Any]) -> None:
    """An order whose customer has no ERP id cannot become a sales order payload."""
    order = (
        load_mapping(ORDER).to_model(sf_order, Order).model_copy(update={"customer_erp_id": None})
    )
    with pytest.raises(MappingError) as caught:
        load_mapping("order_to_s4_sales_order").apply(order)
    assert (caught.value.mapping_id, caught.value.record_id, caught.value.field) == (
        "order_to_s4_sales_order",
        "8015g00000ABCdEAAX",
        "customer_erp_id",
    )


def test_value_with_no_inverse() -> None:
    """Writing a unit no CRM label maps to fails value_map_inverse, naming the value."""
    product = Product(sku="GC1040", name="GenWatt", unit="BOX")
    with pytest.raises(MappingError) as caught:
        load_mapping("product_to_salesforce_product2").apply(product)
    assert (caught.value.mapping_id, caught.value.record_id) == (
        "product_to_salesforce_product2",
        "GC1040",
    )
    assert (caught.value.field, caught.value.value) == ("unit", "BOX")
    assert caught.value.rule.startswith("value_map_inverse:salesforce_units")


def test_price_per_several_units_is_refused_by_the_crm_mapping() -> None:
    """A price per 10 units fails the per_quantity check instead of becoming a unit price."""
    price = Price(
        crm_id="01u5g00000AbCdEAAX",
        price_book_crm_id="01s5g00000AbCdEAAX",
        product_crm_id="01t5g000001AbCdAAK",
        product_sku="GC1040",
        unit_price=Money(amount=Decimal("199.90"), currency="EUR"),
        per_quantity=Decimal(10),
        valid_from=date(2026, 1, 1),
    )
    mapping = load_mapping("price_to_salesforce_pricebookentry")
    with pytest.raises(MappingError) as caught:
        mapping.apply(price)
    assert (caught.value.record_id, caught.value.field, caught.value.value) == (
        "01u5g00000AbCdEAAX",
        "per_quantity",
        Decimal(10),
    )
    assert caught.value.rule.startswith("equals:1")
    per_unit = price.model_copy(update={"per_quantity": Decimal("1.000")})
    assert mapping.apply(per_unit) == {
        "Pricebook2Id": "01s5g00000AbCdEAAX",
        "Product2Id": "01t5g000001AbCdAAK",
        "UnitPrice": "199.90",
        "CurrencyIsoCode": "EUR",
        "IsActive": True,
    }
