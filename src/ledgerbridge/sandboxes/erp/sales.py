"""Sales orders inside the ERP: creation and pricing, credit check and release, delivery.

Statuses follow SAP's codes: OverallSDProcessStatus A open / B in process / C completed;
TotalCreditCheckStatus blank not checked / A passed / B blocked / D released;
OverallTotalDeliveryStatus A not delivered / C fully delivered;
OverallSDDocumentRejectionSts A nothing / B some items / C all items rejected. Rejected
items (SalesDocumentRjcnReason set) count in no total, delivery or invoice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.erp.credit import CHECK_BLOCKED, CHECK_RELEASED, Credit
from ledgerbridge.sandboxes.erp.errors import ODataError, bad_request
from ledgerbridge.sandboxes.erp.events import (
    OUTBOUND_DELIVERY_CREATED,
    SALES_ORDER_CHANGED,
    SALES_ORDER_CREATED,
    SALES_ORDER_DELETED,
    EventLog,
)
from ledgerbridge.sandboxes.erp.payloads import Clock, Created, children, day, decode, writable
from ledgerbridge.sandboxes.erp.pricing import Price, Pricing
from ledgerbridge.sandboxes.erp.services.sales_order import (
    SALES_ORDER,
    SALES_ORDER_ITEM,
    SALES_ORDER_ITEM_PRICING,
)
from ledgerbridge.sandboxes.erp.store import Record, Store

_CENT = Decimal("0.01")
# Sandbox bookkeeping kept beside the SAP fields; never rendered (not in the model).
_CREATED_AT = "_CreatedAt"
# What a client may change on an item: rejecting it (with a reason) and its text.
_ITEM_CHANGEABLE = frozenset({"SalesDocumentRjcnReason", "SalesOrderItemText"})
_DELIVERY = "_OutboundDelivery"


def order_event(values: Mapping[str, Any]) -> dict[str, Any]:
    """The data SAP's sales order events carry."""
    names = (
        "SalesOrder",
        "SalesOrderType",
        "SalesOrganization",
        "DistributionChannel",
        "OrganizationDivision",
        "SoldToParty",
    )
    return {n: values.get(n) for n in names}


class Sales:
    """Sales orders from creation to delivery (billing.py takes over from there)."""

    def __init__(
        self,
        store: Store,
        events: EventLog,
        credit: Credit,
        pricing: Pricing,
        *,
        user: str,
        clock: Clock,
        delivery_delay: timedelta | None,
    ) -> None:
        self._store = store
        self._events = events
        self._credit = credit
        self._pricing = pricing
        self._user = user
        self._clock = clock
        self._delivery_delay = delivery_delay

    def create_order(self, payload: Mapping[str, Any]) -> Created:
        """Create an order with its items (priced by PR00), then run the credit check."""
        header, navs = decode(SALES_ORDER, payload)
        for name in (
            "SalesOrderType",
            "SalesOrganization",
            "DistributionChannel",
            "OrganizationDivision",
        ):
            if not header.get(name):
                raise bad_request(f"Enter a value for field {name}", code="V1/045")
        if header["SalesOrderType"] != "OR":
            raise bad_request(
                f"Sales document type {header['SalesOrderType']} is not defined", code="V1/041"
            )
        sold_to = str(header.get("SoldToParty") or "")
        customer = self._store.get("A_Customer", (sold_to,))
        if customer is None:
            raise bad_request(f"Sold-to party {sold_to} does not exist", code="V1/102")
        if customer.values.get("OrderIsBlockedForCustomer"):
            raise bad_request(f"Sold-to party {sold_to} is blocked for orders", code="V1/127")
        items = children(navs.get("to_Item", []), "to_Item")
        if not items:
            raise bad_request("Sales order has no items", code="V1/201")
        number = str(self._store.next_number("SalesOrder", 1))
        currency = str(header.get("TransactionCurrency") or "EUR")
        now = self._clock()
        header = writable(header)
        header.update(
            SalesOrder=number,
            TransactionCurrency=currency,
            CreationDate=day(now),
            CreatedByUser=self._user,
            LastChangeDate=day(now),
            OverallSDProcessStatus="A",
            OverallTotalDeliveryStatus="A",
            OverallSDDocumentRejectionSts="A",
            TotalNetAmount=Decimal("0.00"),
        )
        header[_CREATED_AT] = now
        header.setdefault("SalesOrderDate", day(now))
        header.setdefault("PricingDate", header["SalesOrderDate"])
        self._store.insert("A_SalesOrder", (number,), header)
        total = Decimal("0.00")
        for position, raw in enumerate(items, start=1):
            total += self._create_item(header, position, raw)
        header["TotalNetAmount"] = total
        header["TotalCreditCheckStatus"] = self._credit.check(sold_to, total)
        self._store.update("A_SalesOrder", (number,), header)
        self._credit.refresh(sold_to)
        self._events.emit(SALES_ORDER_CREATED, order_event(header))
        return Created(SALES_ORDER, (number,))

    def _create_item(
        self, order: Mapping[str, Any], position: int, raw: Mapping[str, Any]
    ) -> Decimal:
        number, currency = str(order["SalesOrder"]), str(order["TransactionCurrency"])
        item, navs = decode(SALES_ORDER_ITEM, raw)
        item_no = str(item.get("SalesOrderItem") or position * 10)
        material = str(item.get("Material") or "")
        if not material:
            raise bad_request(f"Item {item_no}: enter a material", code="V1/261")
        product = self._store.get("A_Product", (material,))
        if product is None or product.values.get("IsMarkedForDeletion"):
            raise bad_request(f"Item {item_no}: material {material} does not exist", code="V1/392")
        quantity = item.get("RequestedQuantity")
        if quantity is None or quantity <= 0:
            raise bad_request(f"Item {item_no}: enter a positive requested quantity", code="V1/262")
        manual = children(navs.get("to_PricingElement", []), "to_PricingElement")
        if manual:
            prices = [
                self._manual_price(number, item_no, counter, cond_raw, quantity, currency)
                for counter, cond_raw in enumerate(manual, start=1)
            ]
        else:
            determined = self._pricing.determine(order, material)
            if determined is None:
                raise bad_request(
                    f"Item {item_no}: no price for material {material}; "
                    "mandatory condition PR00 is missing",
                    code="V1/333",
                )
            prices = [self._determined_price(number, item_no, determined, quantity, currency)]
        net = sum(prices, Decimal("0.00"))
        item = writable(item)
        item.update(
            SalesOrder=number,
            SalesOrderItem=item_no,
            SalesOrderItemCategory=item.get("SalesOrderItemCategory") or "TAN",
            TransactionCurrency=currency,
            NetAmount=net,
            SDProcessStatus="A",
            DeliveryStatus="A",
            OrderRelatedBillingStatus="",
        )
        item.setdefault("RequestedQuantityUnit", product.values.get("BaseUnit") or "EA")
        item.setdefault("SalesOrderItemText", self._description(material))
        if self._store.get("A_SalesOrderItem", (number, item_no)) is not None:
            raise bad_request(f"Item {item_no} occurs twice", code="V1/263")
        self._store.insert("A_SalesOrderItem", (number, item_no), item)
        return net

    def _description(self, material: str) -> str | None:
        record = self._store.get("A_ProductDescription", (material, "EN"))
        return record.values.get("ProductDescription") if record else None

    def _manual_price(
        self,
        order: str,
        item_no: str,
        counter: int,
        raw: Mapping[str, Any],
        quantity: Decimal,
        currency: str,
    ) -> Decimal:
        cond = decode(SALES_ORDER_ITEM_PRICING, raw)[0]
        if cond.get("ConditionType") != "PR00":
            raise bad_request(
                f"Item {item_no}: condition type {cond.get('ConditionType')} "
                "cannot be entered manually",
                code="V1/334",
            )
        rate = cond.get("ConditionRateValue")
        if rate is None or rate < 0:
            raise bad_request(f"Item {item_no}: enter a condition rate for PR00", code="V1/335")
        per = cond.get("ConditionQuantity") or Decimal(1)
        element = writable(cond)
        element.update(ConditionIsManuallyChanged=True, ConditionOrigin="C")
        return self._insert_element(order, item_no, counter, element, rate, per, quantity, currency)

    def _determined_price(
        self, order: str, item_no: str, price: Price, quantity: Decimal, currency: str
    ) -> Decimal:
        if price.currency != currency:
            raise bad_request(
                f"Item {item_no}: price in {price.currency} cannot be used in a {currency} order",
                code="V1/336",
            )
        element = {
            "ConditionType": "PR00",
            "ConditionRateValue": price.rate,
            "ConditionRecord": price.record,
            "ConditionOrigin": "A",
            "ConditionIsManuallyChanged": False,
        }
        return self._insert_element(
            order, item_no, 1, element, price.rate, price.per, quantity, currency
        )

    def _insert_element(
        self,
        order: str,
        item_no: str,
        counter: int,
        element: dict[str, Any],
        rate: Decimal,
        per: Decimal,
        quantity: Decimal,
        currency: str,
    ) -> Decimal:
        amount: Decimal = (rate * quantity / per).quantize(_CENT)
        element.update(
            SalesOrder=order,
            SalesOrderItem=item_no,
            PricingProcedureStep="10",
            PricingProcedureCounter=str(counter),
            ConditionCalculationType="C",
            ConditionBaseValue=quantity,
            ConditionQuantity=per,
            ConditionAmount=amount,
            ConditionCurrency=element.get("ConditionCurrency") or currency,
            TransactionCurrency=currency,
        )
        key = (order, item_no, "10", str(counter))
        self._store.insert("A_SalesOrderItemPrElement", key, element)
        return amount

    def _order(self, number: str) -> Record:
        record = self._store.get("A_SalesOrder", (number,))
        if record is None:
            raise ODataError(404, "/IWBEP/CM_MGW_RT/021", f"Sales order {number} does not exist")
        return record

    def save_order(self, values: dict[str, Any]) -> None:
        """Write a changed order header and announce the change."""
        values["LastChangeDate"] = day(self._clock())
        self._store.update("A_SalesOrder", (str(values["SalesOrder"]),), values)
        self._events.emit(SALES_ORDER_CHANGED, order_event(values))

    def release_credit_block(self, number: str) -> Created:
        """Release a credit-blocked order (credit status B becomes D)."""
        values = dict(self._order(number).values)
        if values.get("TotalCreditCheckStatus") != CHECK_BLOCKED:
            raise bad_request(f"Sales order {number} is not blocked for credit", code="V1/711")
        values["TotalCreditCheckStatus"] = CHECK_RELEASED
        self.save_order(values)
        self._credit.refresh(str(values["SoldToParty"]))
        return Created(SALES_ORDER, (number,))

    def change_item(self, key: tuple[str, ...], changes: dict[str, Any]) -> None:
        """Apply a client's change to an item (reject it or change its text)."""
        refused = sorted(set(changes) - _ITEM_CHANGEABLE - {"SalesOrder", "SalesOrderItem"})
        if refused:
            raise bad_request(
                f"Item fields {', '.join(refused)} cannot be changed; "
                "reject the item and add a new order instead",
                code="V1/401",
            )
        item = self._store.get("A_SalesOrderItem", key)
        if item is None:
            raise ODataError(
                404, "/IWBEP/CM_MGW_RT/021", f"Item {key[1]} of order {key[0]} does not exist"
            )
        if "SalesDocumentRjcnReason" in changes and item.values.get("DeliveryStatus") == "C":
            raise bad_request(f"Item {key[1]} is delivered and cannot be rejected", code="V1/402")
        self._store.update("A_SalesOrderItem", key, {**item.values, **changes})
        order = dict(self._order(key[0]).values)
        items = self._store.find("A_SalesOrderItem", SalesOrder=key[0])
        live = [i for i in items if not i.values.get("SalesDocumentRjcnReason")]
        order["TotalNetAmount"] = sum((i.values["NetAmount"] for i in live), Decimal("0.00"))
        order["OverallSDDocumentRejectionSts"] = (
            "C" if not live else "B" if len(live) < len(items) else "A"
        )
        if not live:
            order["OverallSDProcessStatus"] = "C"
        self.save_order(order)
        self._credit.refresh(str(order["SoldToParty"]))

    def delete_order(self, number: str) -> None:
        """Delete an order that has no delivery or invoice yet."""
        order = self._order(number).values
        # Billing follows delivery, so an undelivered order has no follow-up documents.
        if order.get("OverallTotalDeliveryStatus") != "A":
            raise ODataError(
                409,
                "V1/403",
                f"Sales order {number} has subsequent documents and cannot be deleted",
            )
        for element in self._store.find("A_SalesOrderItemPrElement", SalesOrder=number):
            v = element.values
            key = (
                number,
                str(v["SalesOrderItem"]),
                str(v["PricingProcedureStep"]),
                str(v["PricingProcedureCounter"]),
            )
            self._store.delete("A_SalesOrderItemPrElement", key)
        for item in self._store.find("A_SalesOrderItem", SalesOrder=number):
            self._store.delete("A_SalesOrderItem", (number, str(item.values["SalesOrderItem"])))
        self._store.delete("A_SalesOrder", (number,))
        self._credit.refresh(str(order["SoldToParty"]))
        self._events.emit(SALES_ORDER_DELETED, order_event(order))

    def deliver(self, number: str) -> str:
        """Deliver an order in full (goods issue); returns the outbound delivery number."""
        values = dict(self._order(number).values)
        if values.get("TotalCreditCheckStatus") == CHECK_BLOCKED:
            raise ODataError(
                409, "V1/712", f"Sales order {number} is blocked for credit and cannot be delivered"
            )
        if values.get("OverallTotalDeliveryStatus") == "C":
            raise ODataError(409, "V1/713", f"Sales order {number} is already delivered")
        if values.get("OverallSDDocumentRejectionSts") == "C":
            raise ODataError(409, "V1/714", f"Sales order {number} is rejected")
        delivery = str(self._store.next_number("OutboundDelivery", 80_000_000))
        for item in self._store.find("A_SalesOrderItem", SalesOrder=number):
            if item.values.get("SalesDocumentRjcnReason"):
                continue
            item_values = {**item.values, "DeliveryStatus": "C", "SDProcessStatus": "B"}
            key = (number, str(item_values["SalesOrderItem"]))
            self._store.update("A_SalesOrderItem", key, item_values)
        values.update(OverallTotalDeliveryStatus="C", OverallSDProcessStatus="B")
        values[_DELIVERY] = delivery
        self.save_order(values)
        self._events.emit(
            OUTBOUND_DELIVERY_CREATED, {"OutboundDelivery": delivery, "SalesOrder": number}
        )
        return delivery

    def deliver_due(self, now: datetime) -> list[str]:
        """Deliver every unblocked, undelivered order older than the configured delay."""
        if self._delivery_delay is None:
            return []
        due = [
            str(r.values["SalesOrder"])
            for r in self._store.all("A_SalesOrder")
            if r.values.get("OverallTotalDeliveryStatus") == "A"
            and r.values.get("OverallSDDocumentRejectionSts") != "C"
            and r.values.get("TotalCreditCheckStatus") != CHECK_BLOCKED
            and r.values.get(_CREATED_AT) is not None
            and r.values[_CREATED_AT] + self._delivery_delay <= now
        ]
        return [self.deliver(number) for number in due]
