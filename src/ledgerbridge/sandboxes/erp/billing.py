"""Billing: the billing run that invoices delivered orders, and cancellation.

A billing document (type F2) is created per delivered, unbilled order, with one item
per order item, and posted to receivables. Cancel (SAP's function import) creates a
cancellation document (S1), clears the invoice's receivable against it and makes the
order billable again; an invoice that is paid, even partly, cannot be cancelled.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.erp.accounting import COMPANY_CODE, Accounting
from ledgerbridge.sandboxes.erp.credit import Credit
from ledgerbridge.sandboxes.erp.errors import bad_request, not_found
from ledgerbridge.sandboxes.erp.events import (
    BILLING_DOCUMENT_CANCELED,
    BILLING_DOCUMENT_CREATED,
    EventLog,
)
from ledgerbridge.sandboxes.erp.payloads import Clock, day
from ledgerbridge.sandboxes.erp.sales import Sales
from ledgerbridge.sandboxes.erp.services.billing_document import BILLING_DOCUMENT
from ledgerbridge.sandboxes.erp.store import Store


class Billing:
    """Creates billing documents from delivered orders and cancels them."""

    def __init__(
        self,
        store: Store,
        events: EventLog,
        credit: Credit,
        accounting: Accounting,
        sales: Sales,
        clock: Clock,
    ) -> None:
        self._store = store
        self._events = events
        self._credit = credit
        self._accounting = accounting
        self._sales = sales
        self._clock = clock

    def run(self) -> list[str]:
        """Bill every delivered, unbilled order: one billing document each, posted to AR."""
        documents = []
        for order in self._store.all("A_SalesOrder"):
            values = order.values
            if (
                values.get("OverallTotalDeliveryStatus") == "C"
                and values.get("OverallSDProcessStatus") != "C"
            ):
                documents.append(self._bill(dict(values)))
        return documents

    def _bill(self, order: dict[str, Any]) -> str:
        number = str(self._store.next_number("BillingDocument", 90_000_000))
        today = day(self._clock())
        order_no = str(order["SalesOrder"])
        net = order["TotalNetAmount"]
        billing: dict[str, Any] = {
            "BillingDocument": number,
            "SDDocumentCategory": "M",
            "BillingDocumentCategory": "L",
            "BillingDocumentType": "F2",
            "CreationDate": today,
            "LastChangeDate": today,
            "SalesOrganization": order.get("SalesOrganization"),
            "DistributionChannel": order.get("DistributionChannel"),
            "Division": order.get("OrganizationDivision"),
            "BillingDocumentDate": today,
            "BillingDocumentIsCancelled": False,
            "TotalNetAmount": net,
            "TransactionCurrency": order["TransactionCurrency"],
            "TaxAmount": Decimal("0.00"),
            "TotalGrossAmount": net,
            "PayerParty": order["SoldToParty"],
            "SoldToParty": order["SoldToParty"],
            "CustomerPaymentTerms": order.get("CustomerPaymentTerms") or "NT30",
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": str(today.year),
            "PurchaseOrderByCustomer": order.get("PurchaseOrderByCustomer"),
            "OverallBillingStatus": "C",
            "AccountingTransferStatus": "C",
            "AccountingPostingStatus": "C",
            "InvoiceClearingStatus": "A",
            "_SalesOrder": order_no,
        }
        position = 0
        for item in self._store.find("A_SalesOrderItem", SalesOrder=order_no):
            if item.values.get("SalesDocumentRjcnReason"):
                continue
            position += 10
            self._store.insert(
                "A_BillingDocumentItem",
                (number, str(position)),
                {
                    "BillingDocument": number,
                    "BillingDocumentItem": str(position),
                    "SalesDocumentItemCategory": item.values.get("SalesOrderItemCategory"),
                    "CreationDate": today,
                    "Material": item.values.get("Material"),
                    "BillingDocumentItemText": item.values.get("SalesOrderItemText"),
                    "BillingQuantity": item.values.get("RequestedQuantity"),
                    "BillingQuantityUnit": item.values.get("RequestedQuantityUnit"),
                    "NetAmount": item.values.get("NetAmount"),
                    "TransactionCurrency": item.values.get("TransactionCurrency"),
                    "GrossAmount": item.values.get("NetAmount"),
                    "TaxAmount": Decimal("0.00"),
                    "ReferenceSDDocument": order_no,
                    "ReferenceSDDocumentItem": item.values.get("SalesOrderItem"),
                    "ReferenceSDDocumentCategory": "C",
                    "SalesDocument": order_no,
                    "SalesDocumentItem": item.values.get("SalesOrderItem"),
                },
            )
            item_values = {**item.values, "SDProcessStatus": "C", "OrderRelatedBillingStatus": "C"}
            key = (order_no, str(item_values["SalesOrderItem"]))
            self._store.update("A_SalesOrderItem", key, item_values)
        billing["AccountingDocument"] = self._accounting.post_invoice(billing)
        billing["DocumentReferenceID"] = number
        self._store.insert(BILLING_DOCUMENT.entity_set, (number,), billing)
        order["OverallSDProcessStatus"] = "C"
        self._sales.save_order(order)
        self._credit.refresh(str(order["SoldToParty"]))
        self._events.emit(
            BILLING_DOCUMENT_CREATED,
            {
                "BillingDocument": number,
                "BillingDocumentType": "F2",
                "SalesOrganization": order.get("SalesOrganization"),
                "SoldToParty": order["SoldToParty"],
            },
        )
        return number

    def cancel(self, billing_document: str) -> list[dict[str, Any]]:
        """Cancel an unpaid invoice; returns SAP's CancelResult rows."""
        record = self._store.get("A_BillingDocument", (billing_document,))
        if record is None:
            raise not_found(f"Billing document {billing_document} does not exist")
        original = dict(record.values)
        if original.get("BillingDocumentIsCancelled") or original["BillingDocumentType"] != "F2":
            raise bad_request(
                f"Billing document {billing_document} is cancelled or is a cancellation",
                code="VF/033",
            )
        if not self._accounting.can_reverse(billing_document):
            raise bad_request(
                f"Billing document {billing_document} is already paid in full or in part; "
                "reverse the payment first",
                code="VF/118",
            )
        number = str(self._store.next_number("BillingDocument", 90_000_000))
        today = day(self._clock())
        cancellation = {
            **original,
            "BillingDocument": number,
            "SDDocumentCategory": "N",
            "BillingDocumentType": "S1",
            "CancelledBillingDocument": billing_document,
            "CreationDate": today,
            "LastChangeDate": today,
            "BillingDocumentDate": today,
            "DocumentReferenceID": number,
            "AccountingDocument": number,
            "InvoiceClearingStatus": "C",
        }
        for item in self._store.find("A_BillingDocumentItem", BillingDocument=billing_document):
            values = {**item.values, "BillingDocument": number, "CreationDate": today}
            self._store.insert(
                "A_BillingDocumentItem", (number, str(values["BillingDocumentItem"])), values
            )
        self._store.insert("A_BillingDocument", (number,), cancellation)
        self._accounting.reverse_invoice(original, number)
        original.update(
            BillingDocumentIsCancelled=True, InvoiceClearingStatus="C", LastChangeDate=today
        )
        self._store.update("A_BillingDocument", (billing_document,), original)
        self._reopen_order(str(original.get("_SalesOrder") or ""))
        self._credit.refresh(str(original["PayerParty"]))
        self._events.emit(
            BILLING_DOCUMENT_CANCELED,
            {"BillingDocument": billing_document, "CancellationBillingDocument": number},
        )
        return [
            {
                "BillingDocument": billing_document,
                "CancellationBillingDocument": number,
                "SystemMessageType": "S",
                "SystemMessageIdentification": "VF",
                "SystemMessageNumber": "311",
                "SystemMessageText": f"Document {number} has been saved",
                "SystemMessageVariable1": number,
                "SystemMessageVariable2": "",
            }
        ]

    def _reopen_order(self, order_no: str) -> None:
        record = self._store.get("A_SalesOrder", (order_no,))
        if record is None:
            return
        for item in self._store.find("A_SalesOrderItem", SalesOrder=order_no):
            values = {**item.values, "SDProcessStatus": "B", "OrderRelatedBillingStatus": "A"}
            self._store.update(
                "A_SalesOrderItem", (order_no, str(values["SalesOrderItem"])), values
            )
        self._sales.save_order({**record.values, "OverallSDProcessStatus": "B"})
