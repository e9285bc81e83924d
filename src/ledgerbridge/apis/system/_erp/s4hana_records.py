"""The S/4HANA adapter's records: OData entities to canonical models through the mappings,
canonical models to OData payloads, and the literals and filters the adapter builds.

Strictly private to the adapter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledgerbridge.canonical import (
    CreditLimit,
    Invoice,
    InvoiceStatus,
    OrderStatus,
    Party,
    Price,
    Product,
    SalesOrderState,
)
from ledgerbridge.connectors.s4hana import ODataEntity
from ledgerbridge.mapping import load_mapping

KeyValue = str | int | Decimal | datetime
_EPOCH_DAY = date(1970, 1, 1)
_MS_PER_DAY = 86_400_000


def party_of(entity: ODataEntity) -> Party:
    return load_mapping("s4_business_partner_to_party").to_model(
        shaped(entity.properties), Party, record_id=str(entity.properties.get("BusinessPartner"))
    )


def customer_etag(entity: ODataEntity) -> str:
    """A weak ETag of a partner with its addresses, read with ``to_BusinessPartnerAddress``.

    S/4 versions the partner and each address apart, and a change of an address leaves the
    partner's ETag as it was; so the customer's version is the partner's ETag together with
    what its addresses hold.
    """
    addresses = entity.properties.get("to_BusinessPartnerAddress") or []
    content = json.dumps([entity.etag, addresses], sort_keys=True, default=str)
    return f'W/"{hashlib.sha256(content.encode()).hexdigest()[:32]}"'


def sales_order_of(entity: ODataEntity) -> SalesOrderState:
    return load_mapping("s4_sales_order_to_order_status").to_model(
        shaped(entity.properties),
        SalesOrderState,
        record_id=str(entity.properties.get("SalesOrder")),
    )


def shaped(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Entity properties in V2 JSON's shape, to-many navigation as ``{"results": [...]}``.

    The connector hands expanded lists over as plain lists; the mappings read the wire form.
    """
    return {
        name: {"results": [shaped(child) for child in value]}
        if isinstance(value, list)
        else shaped(value)
        if isinstance(value, Mapping)
        else value
        for name, value in properties.items()
    }


def all_of(clauses: Sequence[str]) -> str | None:
    return " and ".join(clauses) if clauses else None


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


def odata_date(day: date) -> str:
    return f"/Date({(day - _EPOCH_DAY).days * _MS_PER_DAY})/"


def product_of(entity: ODataEntity) -> Product:
    return load_mapping("s4_product_to_product").to_model(
        shaped(entity.properties), Product, record_id=str(entity.properties.get("Product"))
    )


def product_payload(product: Product) -> dict[str, Any]:
    return load_mapping("product_to_s4_product").apply(
        product.model_dump(mode="json"), record_id=product.sku
    )


def same_product(current: Product, wanted: Product) -> bool:
    fields = ("sku", "name", "unit", "active")
    return all(getattr(current, name) == getattr(wanted, name) for name in fields)


def price_of(entity: ODataEntity) -> Price:
    return load_mapping("s4_pricing_condition_to_price").to_model(
        shaped(entity.properties), Price, record_id=str(entity.properties.get("ConditionRecord"))
    )


def price_of_validity(validity: ODataEntity) -> Price:
    """A price read from its validity, with the condition record expanded."""
    props = validity.properties
    record = dict(props.get("to_SlsPrcgConditionRecord") or {})
    record["to_SlsPrcgCndnRecdValidity"] = {
        "results": [{k: v for k, v in props.items() if k != "to_SlsPrcgConditionRecord"}]
    }
    return load_mapping("s4_pricing_condition_to_price").to_model(
        record, Price, record_id=str(props.get("ConditionRecord"))
    )


def same_price(current: Price, wanted: Price) -> bool:
    fields = ("unit_price", "per_quantity", "active")
    return all(getattr(current, name) == getattr(wanted, name) for name in fields)


def invoice_of(entity: ODataEntity) -> Invoice:
    return load_mapping("s4_billing_document_to_invoice").to_model(
        shaped(entity.properties), Invoice, record_id=str(entity.properties.get("BillingDocument"))
    )


_NOT_CANCELLED = "BillingDocumentIsCancelled ne true"
INVOICE_STATUS_FILTERS = {
    InvoiceStatus.CANCELLED: "BillingDocumentIsCancelled eq true",
    InvoiceStatus.PAID: f"{_NOT_CANCELLED} and InvoiceClearingStatus eq 'C'",
    InvoiceStatus.PARTIALLY_PAID: f"{_NOT_CANCELLED} and InvoiceClearingStatus eq 'B'",
    InvoiceStatus.OPEN: (
        f"{_NOT_CANCELLED} and InvoiceClearingStatus ne 'C' and InvoiceClearingStatus ne 'B'"
    ),
}


_NOT_REJECTED = "OverallSDDocumentRejectionSts ne 'C'"
_NOT_COMPLETED = "OverallSDProcessStatus ne 'C'"
_CREDIT_BLOCKED = "(TotalCreditCheckStatus eq 'B' or TotalCreditCheckStatus eq 'C')"
SALES_ORDER_STATUS_FILTERS = {
    # As s4_sales_order_to_order_status tells them: rejection, completion, credit block.
    OrderStatus.CANCELLED: "OverallSDDocumentRejectionSts eq 'C'",
    OrderStatus.FULFILLED: f"OverallSDProcessStatus eq 'C' and {_NOT_REJECTED}",
    OrderStatus.CREDIT_HOLD: f"{_CREDIT_BLOCKED} and {_NOT_COMPLETED} and {_NOT_REJECTED}",
    OrderStatus.IN_ERP: (
        "TotalCreditCheckStatus ne 'B' and TotalCreditCheckStatus ne 'C' and "
        f"{_NOT_COMPLETED} and {_NOT_REJECTED}"
    ),
}
"""$filter of each status an S/4 sales order can be in; no order is in any other."""


def account_key(customer_erp_id: str, segment: str) -> dict[str, KeyValue]:
    return {"BusinessPartner": customer_erp_id, "CreditSegment": segment}


def credit_limit_of(entity: ODataEntity) -> CreditLimit:
    return load_mapping("s4_credit_account_to_credit_limit").to_model(
        entity.properties, CreditLimit, record_id=str(entity.properties.get("BusinessPartner"))
    )


def credit_payload(credit_limit: CreditLimit) -> dict[str, Any]:
    return load_mapping("credit_limit_to_s4_credit_account").apply(
        credit_limit.model_dump(mode="json"), record_id=credit_limit.customer_erp_id
    )
