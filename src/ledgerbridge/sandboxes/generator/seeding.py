"""Writing a plan into the sandboxes: which records, in which order, with which links.

The same steps run against either kind of target: in-process (`DirectCrm`, `DirectErp`) or a
running sandbox over HTTP (`RemoteCrm`, `RemoteErp`). The CRM carries the ERP's numbers
(`Account.ERP_Customer_Id__c`, `Order.ERP_Order_Number__c`); the ERP carries the CRM's ids
(`BusinessPartnerIDByExtSystem`, `PurchaseOrderByCustomer`). Both come from the plan, so either
side can be seeded alone and still agree with the other seeded from the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from ledgerbridge.sandboxes.generator.plan import (
    CURRENCY,
    Customer,
    Order,
    Payment,
    Plan,
)

SALES_AREA = {
    "SalesOrganization": "1010",
    "DistributionChannel": "10",
    "OrganizationDivision": "00",
}
_PRICES_FROM = date(2020, 1, 1)

Fields = Mapping[str, Any]


class CrmSink(Protocol):
    """Where CRM records go."""

    def standard_pricebook(self) -> str:
        """The id of the org's Standard Price Book."""

    def create(self, sobject_name: str, records: Sequence[tuple[str, Fields]]) -> list[str]:
        """Create records given as (planned id, fields); their ids."""

    def create_orders(
        self, orders: Sequence[tuple[str, Fields, Sequence[tuple[str, Fields]]]]
    ) -> None:
        """Create orders as (planned id, fields, items as (planned id, fields))."""

    def finish(self, last_sequence: int) -> None:
        """Complete the seeding (the plan's highest CRM id sequence is given)."""


class ErpSink(Protocol):
    """Where ERP records go."""

    def at(self, moment: datetime) -> None:
        """Let what follows happen at `moment`, where the target allows it."""

    def create(self, service: str, entity_set: str, payload: dict[str, Any]) -> str:
        """Create an entity from an OData JSON payload; its key."""

    def deliver(self, sales_order: str) -> None:
        """Post goods issue for a whole order."""

    def billing_run(self) -> list[str]:
        """Bill every delivered order; billing documents in order of their orders."""


class Unexpected(Exception):
    """The ERP numbered a record otherwise than the plan predicted: it was not empty."""

    def __init__(self, what: str, planned: str, got: str) -> None:
        super().__init__(
            f"the ERP gave {what} {got} where the plan expects {planned}: seed an empty ERP"
        )
        self.what = what
        self.planned = planned
        self.got = got


def odata_date(day: date) -> str:
    """A date in OData V2 JSON (`/Date(ms)/`)."""
    moment = datetime.combine(day, time(), UTC)
    return f"/Date({int(moment.timestamp()) * 1000})/"


def _on(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


# -- CRM ---------------------------------------------------------------------------------


def seed_crm(plan: Plan, sink: CrmSink) -> None:
    """Write the plan's CRM side: accounts, contacts, products, prices, orders with items."""
    accounts: list[tuple[str, Fields]] = []
    for customer in plan.customers:
        if customer.crm_id is None:
            continue
        accounts.append((customer.crm_id, _account(customer)))
        if customer.duplicate_crm_id is not None:
            accounts.append((customer.duplicate_crm_id, _account(customer)))
    sink.create("Account", accounts)
    by_index = {c.index: c for c in plan.customers}
    contacts = [
        (
            contact.crm_id,
            {
                "AccountId": by_index[contact.customer].crm_id,
                "FirstName": contact.first_name,
                "LastName": contact.last_name,
                "Email": contact.email,
                "Title": contact.title,
            },
        )
        for contact in plan.contacts
        if by_index[contact.customer].crm_id is not None
    ]
    sink.create("Contact", contacts)
    products = [
        (
            p.crm_id,
            {
                "Name": p.name,
                "ProductCode": p.sku,
                "ERP_Material_Number__c": p.sku,
                "IsActive": True,
            },
        )
        for p in plan.products
    ]
    sink.create("Product2", products)
    book = sink.standard_pricebook()
    entries = [
        (
            p.entry_id,
            {
                "Pricebook2Id": book,
                "Product2Id": p.crm_id,
                "UnitPrice": p.price,
                "IsActive": True,
                "CurrencyIsoCode": CURRENCY,
            },
        )
        for p in plan.products
    ]
    sink.create("PricebookEntry", entries)
    sink.create_orders([_crm_order(plan, order, book) for order in plan.orders if order.in_crm])
    sink.finish(plan.last_crm_sequence)


def _account(customer: Customer) -> dict[str, Any]:
    return {
        "Name": customer.name,
        "Type": "Customer",
        "AccountNumber": f"C{customer.index + 1:07d}",
        "BillingStreet": customer.street,
        "BillingCity": customer.city,
        "BillingPostalCode": customer.postal_code,
        "BillingCountry": customer.country,
        "Phone": customer.phone,
        "Industry": customer.industry,
        "CurrencyIsoCode": CURRENCY,
        "ERP_Customer_Id__c": customer.erp_number,
    }


def _crm_order(plan: Plan, order: Order, book: str) -> tuple[str, Fields, list[tuple[str, Fields]]]:
    customer = plan.customers[order.customer]
    if order.historical:
        invoiced = "Invoiced" if order.in_erp else "Not Invoiced"
        paid = order.payment.value if order.in_erp else Payment.UNPAID.value
    else:
        invoiced, paid = "Not Invoiced", Payment.UNPAID.value
    fields = {
        "AccountId": customer.crm_id,
        "Pricebook2Id": book,
        "EffectiveDate": order.ordered_on.isoformat(),
        "Status": "Activated",
        "CurrencyIsoCode": CURRENCY,
        "ERP_Order_Number__c": order.erp_numbers[0] if order.erp_numbers else None,
        "Invoice_Status__c": invoiced,
        "Payment_Status__c": paid,
        "External_Id__c": order.crm_id,
    }
    items: list[tuple[str, Fields]] = [
        (
            item_id,
            {
                "OrderId": order.crm_id,
                "PricebookEntryId": plan.products[line.product].entry_id,
                "Quantity": line.quantity,
                "UnitPrice": line.unit_price,
            },
        )
        for item_id, line in zip(order.item_ids, order.lines, strict=True)
    ]
    return order.crm_id, fields, items


# -- ERP ---------------------------------------------------------------------------------


def seed_erp(plan: Plan, sink: ErpSink) -> None:
    """Write the plan's ERP side: partners, products, prices, orders, invoices and payments."""
    start = _on(plan.as_of - timedelta(days=400), 8)
    sink.at(start)
    for customer in plan.customers:
        if customer.erp_number is None:
            continue
        number = sink.create("API_BUSINESS_PARTNER", "A_BusinessPartner", _partner(customer))
        _expect("business partner", customer.erp_number, number)
    for product in plan.products:
        sink.create(
            "API_PRODUCT_SRV",
            "A_Product",
            {
                "Product": product.sku,
                "ProductType": "FERT",
                "BaseUnit": "EA",
                "to_Description": [{"Language": "EN", "ProductDescription": product.name}],
            },
        )
        sink.create(
            "API_SLSPRICINGCONDITIONRECORD_SRV",
            "A_SlsPrcgConditionRecord",
            {
                "ConditionType": "PR00",
                "ConditionTable": "304",
                "ConditionRateValue": str(product.price),
                "ConditionRateValueUnit": CURRENCY,
                "to_SlsPrcgCndnRecdValidity": [
                    {
                        "SalesOrganization": SALES_AREA["SalesOrganization"],
                        "DistributionChannel": SALES_AREA["DistributionChannel"],
                        "Material": product.sku,
                        "ConditionValidityStartDate": odata_date(_PRICES_FROM),
                    }
                ],
            },
        )
    _seed_erp_orders(plan, sink)


def _partner(customer: Customer) -> dict[str, Any]:
    return {
        "BusinessPartnerCategory": "2",
        "OrganizationBPName1": customer.name[:40],
        "BusinessPartnerIDByExtSystem": customer.crm_id,
        "to_BusinessPartnerAddress": [
            {
                "StreetName": customer.street,
                "CityName": customer.erp_city,
                "PostalCode": customer.postal_code,
                "Country": customer.country,
            }
        ],
        "to_Customer": {"CustomerName": customer.name[:80]},
    }


def _seed_erp_orders(plan: Plan, sink: ErpSink) -> None:
    # Orders go in day by day; each month's delivered orders are billed once the month is over
    # and paid a fortnight later, so invoices and payments carry plausible dates.
    billed: list[tuple[str, Order]] = []
    month: tuple[int, int] | None = None
    for order in plan.orders:
        key = (order.ordered_on.year, order.ordered_on.month)
        if month is not None and key != month and billed:
            _bill_and_pay(plan, sink, billed, order.ordered_on)
            billed = []
        month = key
        sink.at(_on(order.ordered_on, 10))
        for number in order.erp_numbers:
            got = sink.create("API_SALES_ORDER_SRV", "A_SalesOrder", _sales_order(plan, order))
            _expect("sales order", number, got)
            if order.historical:
                sink.at(_on(order.ordered_on + timedelta(days=1), 12))
                sink.deliver(got)
                billed.append((got, order))
    if billed:
        _bill_and_pay(plan, sink, billed, plan.as_of)


def _sales_order(plan: Plan, order: Order) -> dict[str, Any]:
    customer = plan.customers[order.customer]
    return {
        "SalesOrderType": "OR",
        **SALES_AREA,
        "SoldToParty": customer.erp_number,
        "PurchaseOrderByCustomer": order.crm_id,
        "TransactionCurrency": CURRENCY,
        "SalesOrderDate": odata_date(order.ordered_on),
        "to_Item": [
            {"Material": plan.products[line.product].sku, "RequestedQuantity": str(line.quantity)}
            for line in order.lines_in_erp
        ],
    }


def _bill_and_pay(plan: Plan, sink: ErpSink, billed: list[tuple[str, Order]], by: date) -> None:
    sink.at(_on(by - timedelta(days=1), 18))
    documents = sink.billing_run()
    if len(documents) != len(billed):
        raise Unexpected("billing documents", str(len(billed)), str(len(documents)))
    # The billing run bills delivered orders in the order they were created, as billed holds them.
    for document, (_, order) in zip(documents, billed, strict=True):
        if order.paid_amount <= 0:
            continue
        sink.at(_on(min(by + timedelta(days=14), plan.as_of - timedelta(days=1)), 9))
        sink.create(
            "ZLB_INCOMING_PAYMENT_SRV",
            "IncomingPayment",
            {
                "Customer": plan.customers[order.customer].erp_number,
                "BillingDocument": document,
                "AmountInTransactionCurrency": str(order.paid_amount),
                "TransactionCurrency": CURRENCY,
                "PaymentReference": order.crm_id[:30],
            },
        )


def _expect(what: str, planned: str | None, got: str) -> None:
    if planned is not None and planned != got:
        raise Unexpected(what, planned, got)
