"""Reading both sides through the System APIs: what a run compares.

Every side is listed whole, page by page, through the System APIs' list endpoints: CRM
accounts and orders, ERP customers, sales orders, invoices and payments. The lists run side
by side. A CRM order something refers to (the crosswalk, an ERP order's
PurchaseOrderByCustomer, an invoice's PO number) that the CRM does not list is recorded as
absent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.crm_orders.client import CrmOrdersClient
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_customers.client import ErpCustomersClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.apis.system.erp_sales_orders.client import ErpSalesOrdersClient
from ledgerbridge.canonical import Invoice, Order, Party, Payment, SalesOrderState
from ledgerbridge.runtime.paging import Page
from ledgerbridge.runtime.store import Store
from ledgerbridge.runtime.store.schema import crosswalk

RecordT = TypeVar("RecordT")
PAGE_SIZE = 200


@dataclass
class Snapshot:
    """Both sides as read by one run, keyed by each system's own id."""

    crm_accounts: dict[str, Party] = field(default_factory=dict)
    erp_customers: dict[str, Party] = field(default_factory=dict)
    crm_orders: dict[str, Order] = field(default_factory=dict)
    crm_orders_absent: set[str] = field(default_factory=set)
    erp_orders: dict[str, SalesOrderState] = field(default_factory=dict)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    # crosswalk entity -> CRM id -> ERP id (None while only the CRM side is known)
    links: dict[str, dict[str, str | None]] = field(default_factory=dict)


async def read_both_sides(store: Store, http: httpx.AsyncClient, *, accounts: bool) -> Snapshot:
    """Everything a run compares; ``accounts=False`` leaves accounts and customers out."""
    snap = Snapshot(links=await _crosswalk(store))
    lists: list[Callable[..., Awaitable[Page[Any]]]] = [
        ErpBillingDocumentsClient(http).list_invoices,
        ErpReceivablesClient(http).list_payments,
        ErpSalesOrdersClient(http).list_sales_orders,
        CrmOrdersClient(http).list_orders,
    ]
    if accounts:
        lists += [CrmAccountsClient(http).list_accounts, ErpCustomersClient(http).list_customers]
    invoices, payments, erp_orders, crm_orders, *parties = await _side_by_side(lists)
    snap.invoices, snap.payments = invoices, payments
    snap.erp_orders = {o.erp_number: o for o in erp_orders if o.erp_number}
    snap.crm_orders = {o.crm_id: o for o in crm_orders}
    referred = set(snap.links.get("order", {}))
    referred |= {o.external_reference for o in erp_orders if o.external_reference}
    referred |= {i.po_number for i in invoices if i.po_number}
    snap.crm_orders_absent = referred - set(snap.crm_orders)
    if accounts:
        crm_accounts, erp_customers = parties
        snap.crm_accounts = {p.crm_id: p for p in crm_accounts if p.crm_id}
        snap.erp_customers = {p.erp_id: p for p in erp_customers if p.erp_id}
    return snap


async def _side_by_side(
    lists: Sequence[Callable[..., Awaitable[Page[Any]]]],
) -> list[list[Any]]:
    """Every record of each list, the lists read at once; the first failure is raised."""
    # A task group cancels the other reads as soon as one fails; the first failure is raised
    # as itself, so callers see the error the System API gave.
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_all(list_page)) for list_page in lists]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def _crosswalk(store: Store) -> dict[str, dict[str, str | None]]:
    query = sa.select(crosswalk.c.entity, crosswalk.c.crm_id, crosswalk.c.erp_id).where(
        crosswalk.c.entity.in_(("party", "order")), crosswalk.c.crm_id.is_not(None)
    )
    links: dict[str, dict[str, str | None]] = {"party": {}, "order": {}}
    async with store.engine.connect() as conn:
        for entity, crm_id, erp_id in await conn.execute(query):
            links[entity][crm_id] = erp_id
    return links


async def _all(list_page: Callable[..., Awaitable[Page[RecordT]]]) -> list[RecordT]:
    records: list[RecordT] = []
    cursor: str | None = None
    while True:
        page = await list_page(limit=PAGE_SIZE, cursor=cursor)
        records += page.items
        if page.next_cursor is None:
            return records
        cursor = page.next_cursor
