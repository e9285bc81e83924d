"""The ERP's application layer: which write goes where, and time-driven work.

Every write runs in one transaction together with the business events it emits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from ledgerbridge.sandboxes.erp.accounting import Accounting
from ledgerbridge.sandboxes.erp.billing import Billing
from ledgerbridge.sandboxes.erp.credit import Credit
from ledgerbridge.sandboxes.erp.errors import ODataError, bad_request, not_found
from ledgerbridge.sandboxes.erp.events import (
    BUSINESS_PARTNER_CHANGED,
    PRODUCT_CHANGED,
    SALES_ORDER_CHANGED,
    EventLog,
)
from ledgerbridge.sandboxes.erp.masterdata import MasterData
from ledgerbridge.sandboxes.erp.model import EntityType
from ledgerbridge.sandboxes.erp.payloads import Clock, Created, day, decode, writable
from ledgerbridge.sandboxes.erp.pricing import Pricing
from ledgerbridge.sandboxes.erp.sales import Sales, order_event
from ledgerbridge.sandboxes.erp.store import Store

Creator = Callable[[dict[str, Any]], Created]

# Changes to these sets are announced with the event of their root entity.
# (event type, event field, property holding the root's number)
_CHANGE_EVENTS = {
    "A_BusinessPartner": (BUSINESS_PARTNER_CHANGED, "BusinessPartner", "BusinessPartner"),
    "A_BusinessPartnerAddress": (BUSINESS_PARTNER_CHANGED, "BusinessPartner", "BusinessPartner"),
    "A_Customer": (BUSINESS_PARTNER_CHANGED, "BusinessPartner", "Customer"),
    "A_Product": (PRODUCT_CHANGED, "Product", "Product"),
    "A_ProductDescription": (PRODUCT_CHANGED, "Product", "Product"),
}
_UPDATABLE = frozenset(
    {
        *_CHANGE_EVENTS,
        "A_SalesOrder",
        "A_SalesOrderItem",
        "CreditMgmtBusinessPartner",
        "CreditManagementAccount",
        "A_SlsPrcgConditionRecord",
        "A_SlsPrcgCndnRecdValidity",
    }
)


class Erp:
    """Routes creates, updates and function calls to the business components."""

    def __init__(
        self,
        store: Store,
        *,
        user: str,
        clock: Clock,
        delivery_delay: timedelta | None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.events = EventLog(store, clock)
        self.credit = Credit(store, self.events, clock)
        self.accounting = Accounting(store, self.events, self.credit, clock)
        self.masterdata = MasterData(store, self.events, user, clock)
        self.pricing = Pricing(store, user, clock)
        self.sales = Sales(
            store,
            self.events,
            self.credit,
            self.pricing,
            user=user,
            clock=clock,
            delivery_delay=delivery_delay,
        )
        self.billing = Billing(store, self.events, self.credit, self.accounting, self.sales, clock)
        self._creators: dict[str, Creator] = {
            "A_BusinessPartner": self.masterdata.create_business_partner,
            "A_BusinessPartnerAddress": self.masterdata.create_address,
            "A_Product": self.masterdata.create_product,
            "A_SalesOrder": self.sales.create_order,
            "A_SlsPrcgConditionRecord": self.pricing.create_record,
            "CreditMgmtBusinessPartner": self.credit.create_partner,
            "CreditManagementAccount": self.credit.create_account,
            "IncomingPayment": self.accounting.post_payment,
        }

    def create(self, entity: EntityType, payload: dict[str, Any]) -> Created:
        """Create a root entity (with deep-inserted children) atomically."""
        creator = self._creators.get(entity.entity_set)
        if creator is None:
            raise ODataError(
                405, "/IWBEP/CM_MGW_RT/005", f"Create is not supported for {entity.name}"
            )
        with self.store.transaction():
            return creator(payload)

    def update(self, entity: EntityType, key: tuple[str, ...], payload: Mapping[str, Any]) -> None:
        """Merge changed properties into an entity (PATCH/MERGE/PUT semantics)."""
        if entity.entity_set not in _UPDATABLE:
            raise ODataError(
                405, "/IWBEP/CM_MGW_RT/005", f"Update is not supported for {entity.name}"
            )
        with self.store.transaction():
            record = self.store.get(entity.entity_set, key)
            if record is None:
                raise not_found(f"Resource not found for {entity.name}")
            changes, navs = decode(entity, payload)
            if navs:
                raise bad_request("Navigation properties cannot be changed with an update")
            for name in entity.keys:
                if name in changes and str(changes[name]) != str(record.values.get(name)):
                    raise bad_request(f"Key property '{name}' cannot be changed")
            if entity.entity_set == "A_SalesOrderItem":
                self.sales.change_item(key, changes)
                return
            values = {**record.values, **writable(changes)}
            if entity.prop("LastChangeDate") is not None:
                values["LastChangeDate"] = day(self.clock())
            if entity.entity_set == "CreditManagementAccount":
                self.credit.account_changed(record, values)
            self.store.update(entity.entity_set, key, values)
            if entity.entity_set == "A_SalesOrder":
                self.events.emit(SALES_ORDER_CHANGED, order_event(values))
            elif entity.entity_set in _CHANGE_EVENTS:
                event_type, field, source = _CHANGE_EVENTS[entity.entity_set]
                self.events.emit(event_type, {field: values[source]})

    def delete(self, entity: EntityType, key: tuple[str, ...]) -> None:
        """Delete an entity where S/4 allows it (sales orders without follow-ups)."""
        if entity.entity_set != "A_SalesOrder":
            raise ODataError(
                405, "/IWBEP/CM_MGW_RT/005", f"Delete is not allowed for {entity.name}"
            )
        with self.store.transaction():
            self.sales.delete_order(key[0])

    def call(self, function: str, params: dict[str, str]) -> Created | list[dict[str, Any]]:
        """Run a function import: the entity it changed, or its result rows."""
        with self.store.transaction():
            if function == "releaseCreditBlock":
                return self.sales.release_credit_block(params["SalesOrder"])
            if function == "Cancel":
                return self.billing.cancel(params["BillingDocument"])
        raise not_found(f"Function import {function} not found")

    def deliver(self, order: str) -> str:
        """Deliver one order now (the admin's goods issue)."""
        with self.store.transaction():
            return self.sales.deliver(order)

    def billing_run(self) -> list[str]:
        """Bill all delivered orders."""
        with self.store.transaction():
            return self.billing.run()

    def tick(self) -> None:
        """Do the work that time makes due (delayed deliveries)."""
        with self.store.transaction():
            self.sales.deliver_due(self.clock())
