"""Seeding database files in-process: what the sandboxes then serve over their own APIs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.contract.generator.conftest import DATA, odata_all, soql_all

from ledgerbridge.sandboxes.crm.store import Store as CrmStore
from ledgerbridge.sandboxes.generator import Scenario, Sizes, make_plan, seed_databases

Clients = Callable[[], Awaitable[tuple[httpx.AsyncClient, httpx.AsyncClient]]]


async def test_matched_data_agrees_across_both_sandboxes(
    databases: tuple[Path, Path], clients: Clients
) -> None:
    """Accounts and partners, orders and sales orders link both ways with equal totals."""
    plan = make_plan(seed=11, sizes=Sizes(customers=12))
    seeded = seed_databases(plan, crm=databases[0], erp=databases[1])
    assert seeded.crm_records > 0
    assert seeded.erp_records > 0
    crm, erp = await clients()

    accounts = await soql_all(crm, "SELECT Id, Name, ERP_Customer_Id__c FROM Account")
    partners = await odata_all(
        erp, "API_BUSINESS_PARTNER/A_BusinessPartner?$expand=to_Customer&$format=json"
    )
    assert len(accounts) == len(partners) == 12
    by_crm_id = {p["BusinessPartnerIDByExtSystem"]: p for p in partners}
    for account in accounts:
        partner = by_crm_id[account["Id"]]
        assert partner["BusinessPartner"] == account["ERP_Customer_Id__c"]
        assert partner["to_Customer"]["Customer"] == partner["BusinessPartner"]
        assert partner["OrganizationBPName1"] == account["Name"]

    orders = await soql_all(
        crm,
        "SELECT Id, TotalAmount, Status, ERP_Order_Number__c, Invoice_Status__c, "
        "Payment_Status__c, (SELECT Quantity, Product2Id, PricebookEntry.Product2Id "
        "FROM OrderItems) FROM Order",
    )
    sales = await odata_all(erp, "API_SALES_ORDER_SRV/A_SalesOrder?$format=json")
    assert len(orders) == len(sales) == len(plan.orders)
    by_po = {s["PurchaseOrderByCustomer"]: s for s in sales}
    for order in orders:
        sale = by_po[order["Id"]]
        assert order["Status"] == "Activated"
        assert sale["SalesOrder"] == order["ERP_Order_Number__c"]
        assert Decimal(sale["TotalNetAmount"]) == Decimal(str(order["TotalAmount"]))
        delivered = sale["OverallTotalDeliveryStatus"] == "C"
        assert delivered == (order["Invoice_Status__c"] == "Invoiced")
        for item in order["OrderItems"]["records"]:
            assert item["Product2Id"] == item["PricebookEntry"]["Product2Id"] is not None


async def test_historical_orders_are_invoiced_and_paid_as_the_crm_says(
    databases: tuple[Path, Path], clients: Clients
) -> None:
    """Each historical order has one invoice; paid ones are cleared, part-paid ones are not."""
    plan = make_plan(seed=12, sizes=Sizes(customers=15))
    seed_databases(plan, crm=databases[0], erp=databases[1])
    crm, erp = await clients()
    invoices = await odata_all(erp, "API_BILLING_DOCUMENT_SRV/A_BillingDocument?$format=json")
    historical = [o for o in plan.orders if o.historical]
    assert sorted(i["PurchaseOrderByCustomer"] for i in invoices) == sorted(
        o.crm_id for o in historical
    )
    status = {i["PurchaseOrderByCustomer"]: i["InvoiceClearingStatus"] for i in invoices}
    crm_orders = await soql_all(crm, "SELECT Id, Payment_Status__c FROM Order")
    paid = {o["Id"]: o["Payment_Status__c"] for o in crm_orders}
    expected = {"Paid": "C", "Partially Paid": "B", "Unpaid": "A"}
    for order in historical:
        assert status[order.crm_id] == expected[paid[order.crm_id]]
    # Billing dates are historical too: no invoice is dated after the data set ends.
    latest = max(int(i["BillingDocumentDate"][6:-2]) for i in invoices)
    assert latest < 1767225600000  # 2026-01-01


async def test_mismatches_in_the_manifest_are_there_to_find(
    databases: tuple[Path, Path], clients: Clients
) -> None:
    """Each listed mismatch is observable through the sandboxes' APIs as described."""
    plan = make_plan(seed=13, sizes=Sizes(customers=40), scenario=Scenario.MISMATCHED)
    seed_databases(plan, crm=databases[0], erp=databases[1])
    crm, erp = await clients()
    accounts = await soql_all(crm, "SELECT Id, BillingCity, ERP_Customer_Id__c FROM Account")
    orders = {o["Id"]: o for o in await soql_all(crm, "SELECT Id, TotalAmount FROM Order")}
    partners = await odata_all(
        erp,
        "API_BUSINESS_PARTNER/A_BusinessPartner?$expand=to_BusinessPartnerAddress&$format=json",
    )
    sales = await odata_all(erp, "API_SALES_ORDER_SRV/A_SalesOrder?$format=json")
    partner_of = {p["BusinessPartnerIDByExtSystem"]: p for p in partners}
    sales_of: dict[str, list[dict[str, str]]] = {}
    for sale in sales:
        sales_of.setdefault(sale["PurchaseOrderByCustomer"], []).append(sale)
    for m in plan.mismatches:
        if m.entity == "customer" and m.kind == "missing_in_erp":
            assert m.crm_id not in partner_of
        elif m.entity == "customer" and m.kind == "missing_in_crm":
            assert all(a["ERP_Customer_Id__c"] != m.erp_ids[0] for a in accounts)
        elif m.entity == "customer" and m.kind == "field_mismatch":
            address = partner_of[m.crm_id or ""]["to_BusinessPartnerAddress"]["results"][0]
            account = next(a for a in accounts if a["Id"] == m.crm_id)
            assert (account["BillingCity"], address["CityName"]) == (m.crm_value, m.erp_value)
        elif m.entity == "customer":
            twins = [a for a in accounts if a["ERP_Customer_Id__c"] == m.erp_ids[0]]
            assert len(twins) == 2
        elif m.kind == "missing_in_erp":
            assert m.crm_id in orders
            assert m.crm_id not in sales_of
        elif m.kind == "missing_in_crm":
            assert m.crm_id not in orders
            assert len(sales_of[m.crm_id or ""]) == 1
        elif m.kind == "amount_mismatch":
            sale = sales_of[m.crm_id or ""][0]
            assert Decimal(str(orders[m.crm_id or ""]["TotalAmount"])) == Decimal(m.crm_value or "")
            assert Decimal(sale["TotalNetAmount"]) == Decimal(m.erp_value or "")
        else:
            numbers = [s["SalesOrder"] for s in sales_of[m.crm_id or ""]]
            assert numbers == list(m.erp_ids)
            assert len(numbers) == 2


async def test_records_created_after_seeding_get_fresh_ids_and_numbers(
    databases: tuple[Path, Path], clients: Clients
) -> None:
    """The orgs' counters move past the seeded ids: a new account and order collide with none."""
    plan = make_plan(seed=14, sizes=Sizes(customers=5))
    seed_databases(plan, crm=databases[0], erp=databases[1])
    crm, _ = await clients()
    created = await crm.post(f"{DATA}/sobjects/Account", json={"Name": "After Seeding"})
    assert created.status_code == 201
    account = created.json()["id"]
    seeded_ids = {c.crm_id for c in plan.customers}
    assert account not in seeded_ids
    order = await crm.post(
        f"{DATA}/sobjects/Order",
        json={"AccountId": account, "EffectiveDate": "2026-01-02", "Status": "Draft"},
    )
    number = (await crm.get(f"{DATA}/sobjects/Order/{order.json()['id']}")).json()["OrderNumber"]
    assert int(number) == 100 + len(plan.orders)


def test_seeding_refuses_a_database_that_holds_data(databases: tuple[Path, Path]) -> None:
    """A second seeding into the same files is refused rather than mixed in."""
    plan = make_plan(seed=15, sizes=Sizes(customers=3))
    seed_databases(plan, crm=databases[0], erp=databases[1])
    with pytest.raises(ValueError, match="already holds data"):
        seed_databases(plan, crm=databases[0])
    with pytest.raises(ValueError, match="already holds data"):
        seed_databases(plan, erp=databases[1])
    assert CrmStore(str(databases[0])).all_of("Account")


async def test_each_side_seeded_alone_agrees_with_the_other(
    databases: tuple[Path, Path], clients: Clients
) -> None:
    """CRM and ERP seeded in separate calls from equal plans link up all the same."""
    seed_databases(make_plan(seed=16, sizes=Sizes(customers=6)), erp=databases[1])
    seed_databases(make_plan(seed=16, sizes=Sizes(customers=6)), crm=databases[0])
    crm, erp = await clients()
    accounts = await soql_all(crm, "SELECT Id, ERP_Customer_Id__c FROM Account")
    partners = await odata_all(erp, "API_BUSINESS_PARTNER/A_BusinessPartner?$format=json")
    assert {(a["Id"], a["ERP_Customer_Id__c"]) for a in accounts} == {
        (p["BusinessPartnerIDByExtSystem"], p["BusinessPartner"]) for p in partners
    }
