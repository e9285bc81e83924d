"""Reads CRM orders with their items and writes the ERP link back, through the connector.

Calls go through the CRM's resilience policy: the reads, and the link (setting one field to
one value, so a repeat changes nothing), are retried when the CRM is unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from ledgerbridge.apis.system._crm.soql import soql_literal
from ledgerbridge.canonical import Order, OrderStatus
from ledgerbridge.connectors.salesforce import SalesforceClient, SObjectRecord
from ledgerbridge.mapping import MappingRegistry, load_mapping
from ledgerbridge.runtime.errors import NotFound
from ledgerbridge.runtime.resilience import policies

BACKEND = "salesforce"
ORDER_TO_ORDER = "salesforce_order_to_order"
_ORDER_FIELDS = (
    "Id, OrderNumber, AccountId, Account.ERP_Customer_Id__c, EffectiveDate, Status, "
    "CurrencyIsoCode, PoNumber, TotalAmount, ERP_Order_Number__c"
)
_ITEM_FIELDS = (
    "Id, OrderItemNumber, Product2Id, Product2.ProductCode, Product2.QuantityUnitOfMeasure, "
    "Description, Quantity, UnitPrice, TotalPrice"
)


async def get_order(crm: SalesforceClient, *, order_id: str) -> Order:
    """The CRM order ``order_id`` with its items, as a canonical order.

    ``order_id`` must already be a validated Salesforce id: it is placed in SOQL.
    """
    query = policies.policy_for(BACKEND).guarded(crm.query, repeatable=True)
    # SOQL, not SQL: safe because the view admits only the Salesforce id pattern.
    found = await query(f"SELECT {_ORDER_FIELDS} FROM Order WHERE Id = '{order_id}'")  # noqa: S608
    if not found:
        raise NotFound(f"no Order {order_id}", backend=BACKEND, fields=["order_id"])
    items = await query(
        f"SELECT {_ITEM_FIELDS} FROM OrderItem WHERE OrderId = '{order_id}' "  # noqa: S608
        "ORDER BY OrderItemNumber"
    )
    record = {**found[0].fields, "OrderItems": {"records": [item.fields for item in items]}}
    return load_mapping(ORDER_TO_ORDER).to_model(record, Order, record_id=order_id)


async def list_orders(
    crm: SalesforceClient,
    *,
    account_id: str | None,
    status: OrderStatus | None,
    changed_since: datetime | None,
    after: str | None,
    limit: int,
) -> list[Order]:
    """Up to ``limit`` CRM orders with their items, by Id, after the order ``after``.

    Two queries whatever the page size: the orders, then the items of all of them. A
    ``changed_since`` is taken to the whole second before it (SOQL's datetime literals have
    no fraction), so a change in that second may be listed too, never one missed.
    """
    where = []
    if account_id is not None:
        where.append(f"AccountId = {soql_literal(account_id)}")
    if status is not None:
        where.append(f"Status = {soql_literal(_crm_statuses()[status])}")
    if changed_since is not None:
        stamp = changed_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        where.append(f"SystemModstamp >= {stamp}")
    if after is not None:
        where.append(f"Id > {soql_literal(after)}")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    query = policies.policy_for(BACKEND).guarded(crm.query, repeatable=True)
    orders = await query(
        f"SELECT {_ORDER_FIELDS} FROM Order{clause} "  # noqa: S608 - SOQL, escaped
        f"ORDER BY Id LIMIT {limit}"
    )
    items = await _items_of(crm, [order.id for order in orders])
    mapping = load_mapping(ORDER_TO_ORDER)
    return [
        mapping.to_model(
            {**order.fields, "OrderItems": {"records": items.get(order.id, [])}},
            Order,
            record_id=order.id,
        )
        for order in orders
    ]


async def _items_of(
    crm: SalesforceClient, order_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    if not order_ids:
        return {}
    query = policies.policy_for(BACKEND).guarded(crm.query, repeatable=True)
    wanted = ", ".join(soql_literal(order_id) for order_id in order_ids)
    found: list[SObjectRecord] = await query(
        f"SELECT OrderId, {_ITEM_FIELDS} FROM OrderItem "  # noqa: S608 - SOQL, escaped
        f"WHERE OrderId IN ({wanted}) ORDER BY OrderId, OrderItemNumber"
    )
    items: dict[str, list[dict[str, Any]]] = {}
    for item in found:
        items.setdefault(str(item.fields["OrderId"]), []).append(item.fields)
    return items


@cache
def _crm_statuses() -> dict[OrderStatus, str]:
    """The CRM's Status picklist value of each canonical status, from the mapping's table."""
    table = MappingRegistry().shared_value_maps()["salesforce_order_status"]
    return {OrderStatus(result): source for source, result in table.items()}


async def link_erp_order(crm: SalesforceClient, *, order_id: str, erp_order_number: str) -> Order:
    """Store the ERP sales order number on the CRM order; returns the order as it now is."""
    update = policies.policy_for(BACKEND).guarded(crm.update, repeatable=True)
    await update("Order", order_id, {"ERP_Order_Number__c": erp_order_number})
    return await get_order(crm, order_id=order_id)


async def set_billing_status(
    crm: SalesforceClient,
    *,
    order_id: str,
    invoice_status: str | None,
    payment_status: str | None,
) -> Order:
    """Set Invoice_Status__c and/or Payment_Status__c; returns the order as it now is."""
    fields = {
        name: value
        for name, value in (
            ("Invoice_Status__c", invoice_status),
            ("Payment_Status__c", payment_status),
        )
        if value is not None
    }
    if fields:
        update = policies.policy_for(BACKEND).guarded(crm.update, repeatable=True)
        await update("Order", order_id, fields)
    return await get_order(crm, order_id=order_id)
