"""Sales orders: the CRM order, its lines, and the ERP's view of the same order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator

from ledgerbridge.canonical._base import CanonicalModel, CurrencyCode, UnitCode
from ledgerbridge.canonical._money import Money

__all__ = ["Order", "OrderLine", "OrderStatus", "SalesOrderItem", "SalesOrderState"]


class OrderStatus(StrEnum):
    """Where an order stands in order-to-cash."""

    DRAFT = "draft"
    ACTIVATED = "activated"
    IN_ERP = "in_erp"
    CREDIT_HOLD = "credit_hold"
    FULFILLED = "fulfilled"
    INVOICED = "invoiced"
    PAID = "paid"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class OrderLine(CanonicalModel):
    """One order line; `net_amount` is `quantity * unit_price` rounded to the currency."""

    line_number: int = Field(gt=0)
    product_sku: str = Field(min_length=1)
    product_crm_id: str | None = None
    description: str | None = None
    quantity: Decimal = Field(gt=0)
    unit: UnitCode
    unit_price: Money
    net_amount: Money

    @field_validator("net_amount")
    @classmethod
    def _net_is_quantity_times_price(cls, value: Money, info: ValidationInfo) -> Money:
        # Checked on the field (not the model) so the error points at net_amount.
        price, quantity = info.data.get("unit_price"), info.data.get("quantity")
        if price is None or quantity is None:
            return value
        if value.currency != price.currency:
            raise ValueError(f"currency {value.currency} differs from unit price {price.currency}")
        expected = (price * quantity).rounded()
        if value.amount != expected.amount:
            raise ValueError(
                f"{value} is not quantity {quantity} x unit price {price} = {expected}"
            )
        return value


class Order(CanonicalModel):
    """A customer order; every line is in the order currency and `net_total` is their sum."""

    canonical_id: str | None = None
    crm_id: str = Field(min_length=1)
    crm_number: str | None = None
    erp_number: str | None = None
    customer_crm_id: str | None = None
    customer_erp_id: str | None = None
    order_date: date
    currency: CurrencyCode
    status: OrderStatus
    po_number: str | None = None
    lines: list[OrderLine] = Field(min_length=1)
    net_total: Money

    @field_validator("lines")
    @classmethod
    def _lines_in_order_currency(
        cls, value: list[OrderLine], info: ValidationInfo
    ) -> list[OrderLine]:
        currency = info.data.get("currency")
        for line in value:
            if currency is not None and line.net_amount.currency != currency:
                raise ValueError(
                    f"line {line.line_number} is in {line.net_amount.currency}, order in {currency}"
                )
        return value

    @field_validator("net_total")
    @classmethod
    def _total_is_sum_of_lines(cls, value: Money, info: ValidationInfo) -> Money:
        lines, currency = info.data.get("lines"), info.data.get("currency")
        if lines is None or currency is None:
            return value
        expected = Money.total((line.net_amount for line in lines), currency)
        if value.currency != currency or value.amount != expected.amount:
            raise ValueError(f"{value} is not the sum of the lines, {expected}")
        return value


class SalesOrderItem(CanonicalModel):
    """One item of an order as the ERP holds it (item numbers are the ERP's: 10, 20...)."""

    item_number: str = Field(min_length=1)
    product_sku: str = Field(min_length=1)
    description: str | None = None
    quantity: Decimal = Field(gt=0)
    unit: UnitCode
    unit_price: Money | None = None
    net_amount: Money | None = None


class SalesOrderState(CanonicalModel):
    """The ERP's view of an order: its number, status and totals, read back after posting."""

    erp_number: str | None = None
    external_reference: str | None = None
    customer_erp_id: str | None = None
    po_number: str | None = None
    order_date: date | None = None
    currency: CurrencyCode
    status: OrderStatus
    net_total: Money | None = None
    lines: list[SalesOrderItem] = Field(default_factory=list)
