"""Per-object business rules Salesforce applies on save: numbering, derived fields, roll-ups.

Each rule runs inside the write's transaction, so a refusal leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.store import Store
from ledgerbridge.sandboxes.crm.values import money, next_stamp

Row = dict[str, Any]

CLOSED_STAGES = {"Closed Won": True, "Closed Lost": False}
STAGE_PROBABILITY = {
    "Prospecting": 10,
    "Qualification": 10,
    "Needs Analysis": 20,
    "Value Proposition": 50,
    "Id. Decision Makers": 60,
    "Perception Analysis": 70,
    "Proposal/Price Quote": 75,
    "Negotiation/Review": 90,
    "Closed Won": 100,
    "Closed Lost": 0,
}


def children(store: Store, parent_id: str, child: str, field_name: str) -> list[Row]:
    """The records of `child` whose `field_name` points at `parent_id`."""
    return store.all_of(child, equals={field_name: parent_id})


def _integrity(message: str, field: str) -> SalesforceError:
    return SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", message, [field])


def before_write(store: Store, name: str, data: Row, before: Mapping[str, Any] | None) -> None:
    """Fill derived fields of `data` and refuse saves Salesforce would refuse."""
    if name == "Order":
        _order(store, data, before)
    elif name == "OrderItem":
        _order_item(store, data, before)
    elif name == "Contact":
        data["Name"] = " ".join(p for p in (data.get("FirstName"), data["LastName"]) if p)
    elif name == "Opportunity":
        _opportunity(data, before)
    elif name == "Case":
        if before is None:
            data["CaseNumber"] = f"{store.next_value('case-number', 1000):08d}"
        data["IsClosed"] = data.get("Status") == "Closed"
    elif name == "PricebookEntry":
        _pricebook_entry(store, data, before)


def before_delete(store: Store, name: str, data: Mapping[str, Any]) -> None:
    """Refuse deletes Salesforce would refuse."""
    if name == "Order" and data.get("Status") == "Activated":
        raise SalesforceError(400, "DELETE_FAILED", "You can't delete an activated order.")
    if name == "OrderItem":
        order = store.get(data["OrderId"])
        if order is not None and order[1].get("Status") == "Activated":
            raise SalesforceError(
                400, "DELETE_FAILED", "You can't delete products from an activated order."
            )
    if name == "Pricebook2" and data.get("IsStandard"):
        raise SalesforceError(400, "DELETE_FAILED", "You can't delete the standard price book.")


def after_write(store: Store, name: str, data: Mapping[str, Any]) -> Row | None:
    """Propagate a saved (or deleted) record to its parents; the parent changed, if any."""
    if name != "OrderItem":
        return None
    found = store.get(data["OrderId"])
    if found is None:
        return None
    order = found[1]
    items = children(store, order["Id"], "OrderItem", "OrderId")
    total = money(sum((Decimal(i["TotalPrice"]) for i in items), Decimal(0)))
    if Decimal(order["TotalAmount"]) == total:
        return None
    order["TotalAmount"] = total
    # A roll-up moves the parent's SystemModstamp (not its LastModifiedDate), as in Salesforce.
    order["SystemModstamp"] = next_stamp(store.clock(), order.get("SystemModstamp"))
    store.replace(order["Id"], order)
    return order


def _order(store: Store, data: Row, before: Mapping[str, Any] | None) -> None:
    if before is None:
        data["OrderNumber"] = f"{store.next_value('order-number', 100):08d}"
        data["TotalAmount"] = money(Decimal(0))
    activating = data.get("Status") == "Activated" and (
        before is None or before.get("Status") != "Activated"
    )
    if activating and not children(store, data["Id"], "OrderItem", "OrderId"):
        raise _integrity("You can't activate an order that has no order products.", "Status")


def _order_item(store: Store, data: Row, before: Mapping[str, Any] | None) -> None:
    order = store.get(data["OrderId"])
    if order is not None and order[1].get("Status") == "Activated":
        raise _integrity("You can't add or change products on an activated order.", "OrderId")
    if before is None:
        data["OrderItemNumber"] = f"{store.next_value('order-item-number'):010d}"
        entry_id = data.get("PricebookEntryId")
        if entry_id:
            entry = store.get(entry_id)
            product = entry[1]["Product2Id"] if entry else None
            if data.get("Product2Id") not in (None, product):
                raise _integrity(
                    "Product ID: the product does not match the price book entry's product",
                    "Product2Id",
                )
            data["Product2Id"] = product
    data["TotalPrice"] = money(Decimal(data["Quantity"]) * Decimal(data["UnitPrice"]))


def _opportunity(data: Row, before: Mapping[str, Any] | None) -> None:
    stage = data["StageName"]
    data["IsClosed"] = stage in CLOSED_STAGES
    data["IsWon"] = CLOSED_STAGES.get(stage, False)
    stage_changed = before is None or before.get("StageName") != stage
    if stage_changed and (before is None or before.get("Probability") == data.get("Probability")):
        # A stage change sets the stage's default probability unless the caller set one.
        data["Probability"] = Decimal(STAGE_PROBABILITY.get(stage, 0))
    amount = data.get("Amount")
    probability = data.get("Probability")
    data["ExpectedRevenue"] = (
        None
        if amount is None or probability is None
        else money(Decimal(amount) * Decimal(probability) / 100)
    )


def _pricebook_entry(store: Store, data: Row, before: Mapping[str, Any] | None) -> None:
    product = store.get(data["Product2Id"])
    if product is not None:
        data["Name"] = product[1].get("Name")
        data["ProductCode"] = product[1].get("ProductCode")
    if before is not None:
        return
    book = store.get(data["Pricebook2Id"])
    if book is None or book[1].get("IsStandard"):
        return
    standard = [
        e
        for e in children(store, data["Product2Id"], "PricebookEntry", "Product2Id")
        if (s := store.get(e["Pricebook2Id"])) is not None and s[1].get("IsStandard")
    ]
    if not standard:
        raise _integrity("Before creating a custom price, create a standard price.", "Pricebook2Id")
