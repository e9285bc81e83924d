"""Accounts receivable: open items posted from billing documents, cleared by payments.

An invoice's receivable carries the billing document's number as its accounting
document (SAP's usual RV numbering). A payment posts one customer line (a credit,
negative) per invoice it pays, referencing it. When the invoice is paid in full, the
invoice item, its earlier part payments and the new line are cleared by the payment
document; otherwise the line stays open beside the invoice as a part payment (SAP's
partial-payment method), so the customer's open items always add up to what is owed.
Invoices are paid oldest due first, or only the billing document named. Overpayment is
refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.erp.credit import Credit
from ledgerbridge.sandboxes.erp.errors import bad_request
from ledgerbridge.sandboxes.erp.events import JOURNAL_ENTRY_CREATED, EventLog
from ledgerbridge.sandboxes.erp.payloads import Clock, Created, day, decode, writable
from ledgerbridge.sandboxes.erp.services.incoming_payment import INCOMING_PAYMENT
from ledgerbridge.sandboxes.erp.store import Record, Store

COMPANY_CODE = "1010"
PAYMENT_TERMS_DAYS = 30
_ITEMS = "A_OperationalAcctgDocItemCube"
_ITEM_KEY = ("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem")
_ZERO = Decimal("0.00")


def _item_key(values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(values[k]) for k in _ITEM_KEY)


class Accounting:
    """Posts receivables for invoices and clears them with incoming payments."""

    def __init__(self, store: Store, events: EventLog, credit: Credit, clock: Clock) -> None:
        self._store = store
        self._events = events
        self._credit = credit
        self._clock = clock

    def post_invoice(self, billing: dict[str, Any]) -> str:
        """Post the receivable of a billing document; returns the accounting document."""
        today = day(self._clock())
        year = str(today.year)
        document = str(billing["BillingDocument"])
        customer = str(billing["PayerParty"])
        record = self._store.get("A_Customer", (customer,))
        amount = billing["TotalGrossAmount"]
        item = {
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": year,
            "AccountingDocument": document,
            "AccountingDocumentItem": "1",
            "AccountingDocumentType": "RV",
            "PostingDate": today,
            "DocumentDate": billing["BillingDocumentDate"],
            "NetDueDate": today + timedelta(days=PAYMENT_TERMS_DAYS),
            "Customer": customer,
            "CustomerName": record.values.get("CustomerName") if record else None,
            "FinancialAccountType": "D",
            "DebitCreditCode": "S",
            "BillingDocument": billing["BillingDocument"],
            "SalesDocument": billing.get("_SalesOrder"),
            "IsCleared": False,
            "AmountInTransactionCurrency": amount,
            "TransactionCurrency": billing["TransactionCurrency"],
            "AmountInCompanyCodeCurrency": amount,
            "CompanyCodeCurrency": billing["TransactionCurrency"],
            "PaymentTerms": billing.get("CustomerPaymentTerms"),
            "DocumentReferenceID": billing["BillingDocument"],
            "AssignmentReference": billing.get("PurchaseOrderByCustomer"),
            "LastChangeDate": today,
        }
        self._store.insert(_ITEMS, (COMPANY_CODE, year, document, "1"), item)
        self._events.emit(
            JOURNAL_ENTRY_CREATED,
            {"CompanyCode": COMPANY_CODE, "FiscalYear": year, "AccountingDocument": document},
        )
        return document

    def can_reverse(self, billing_document: str) -> bool:
        """Whether the invoice's receivable is still open and has no part payments."""
        items = self._store.find(_ITEMS, AccountingDocument=billing_document)
        invoice = next((i for i in items if i.values.get("AccountingDocumentType") == "RV"), None)
        return (
            invoice is not None
            and not invoice.values.get("IsCleared")
            and not self._part_payments(invoice)
        )

    def reverse_invoice(self, billing: dict[str, Any], cancellation: str) -> None:
        """Post the cancellation's credit and clear the invoice's receivable against it."""
        invoice = next(
            i
            for i in self._store.find(_ITEMS, AccountingDocument=str(billing["BillingDocument"]))
            if i.values.get("AccountingDocumentType") == "RV"
        )
        today = day(self._clock())
        year = str(today.year)
        amount = invoice.values["AmountInTransactionCurrency"]
        credit = {
            **invoice.values,
            "FiscalYear": year,
            "AccountingDocument": cancellation,
            "AccountingDocumentItem": "1",
            "DebitCreditCode": "H",
            "PostingDate": today,
            "DocumentDate": today,
            "BillingDocument": cancellation,
            "InvoiceReference": invoice.values["AccountingDocument"],
            "InvoiceReferenceFiscalYear": invoice.values["FiscalYear"],
            "InvoiceItemReference": invoice.values["AccountingDocumentItem"],
            "AmountInTransactionCurrency": -amount,
            "AmountInCompanyCodeCurrency": -amount,
            "DocumentReferenceID": cancellation,
            "LastChangeDate": today,
        }
        self._store.insert(_ITEMS, _item_key(credit), credit)
        for item in (invoice.values, credit):
            self._clear(item, cancellation, year, today)
        self._events.emit(
            JOURNAL_ENTRY_CREATED,
            {"CompanyCode": COMPANY_CODE, "FiscalYear": year, "AccountingDocument": cancellation},
        )

    def _invoices(self, customer: str, billing_document: str | None) -> list[Record]:
        match = {"Customer": customer, "AccountingDocumentType": "RV"}
        if billing_document is not None:
            match["BillingDocument"] = billing_document
        items = [
            r
            for r in self._store.find(_ITEMS, **match)
            if not r.values.get("IsCleared") and r.values.get("DebitCreditCode") == "S"
        ]
        return sorted(items, key=lambda r: (r.values["NetDueDate"], r.values["AccountingDocument"]))

    def _part_payments(self, invoice: Record) -> list[Record]:
        return [
            r
            for r in self._store.find(
                _ITEMS,
                Customer=str(invoice.values["Customer"]),
                InvoiceReference=str(invoice.values["AccountingDocument"]),
            )
            if not r.values.get("IsCleared")
        ]

    def _balance(self, invoice: Record) -> Decimal:
        paid = sum(
            (p.values["AmountInTransactionCurrency"] for p in self._part_payments(invoice)), _ZERO
        )
        return Decimal(invoice.values["AmountInTransactionCurrency"] + paid)

    def post_payment(self, payload: dict[str, Any]) -> Created:
        """Post an incoming payment against open invoices, settling them fully or partly."""
        values = writable(decode(INCOMING_PAYMENT, payload)[0])
        customer = str(values.get("Customer") or "")
        if self._store.get("A_Customer", (customer,)) is None:
            raise bad_request(f"Customer {customer} does not exist", code="F5/104")
        amount = values.get("AmountInTransactionCurrency")
        if amount is None or amount <= 0:
            raise bad_request("Enter a positive payment amount", code="F5/105")
        billing_document = values.get("BillingDocument")
        invoices = self._invoices(customer, str(billing_document) if billing_document else None)
        balances = [(invoice, self._balance(invoice)) for invoice in invoices]
        balances = [(invoice, balance) for invoice, balance in balances if balance > 0]
        if not balances:
            raise bad_request(f"No open items for customer {customer}", code="F5/263")
        currency = values.get("TransactionCurrency") or balances[0][0].values["TransactionCurrency"]
        if any(i.values["TransactionCurrency"] != currency for i, _ in balances):
            raise bad_request(f"Open items are not in currency {currency}", code="F5/264")
        open_total = sum((balance for _, balance in balances), _ZERO)
        if amount > open_total:
            raise bad_request(
                f"Payment {amount} {currency} exceeds the open amount {open_total} {currency}",
                code="F5/265",
            )
        today = day(self._clock())
        year = str(today.year)
        document = str(self._store.next_number("AccountingDocumentDZ", 1_400_000_000))
        posted = {"PostingDate": values.get("PostingDate") or today, "Document": document}
        remaining, cleared, residual = amount, _ZERO, _ZERO
        for line, (invoice, balance) in enumerate(balances, start=1):
            if remaining <= 0:
                break
            applied = min(remaining, balance)
            remaining -= applied
            # The new line is open until the invoice is settled; clearing then takes it too.
            self._post_line(invoice, posted, year, line, applied, values)
            if applied == balance:
                for item in [invoice, *self._part_payments(invoice)]:
                    self._clear(item.values, document, year, today)
                cleared += applied
            else:
                residual += balance - applied
            self._set_clearing_status(invoice, settled=applied == balance)
        values.update(
            CompanyCode=COMPANY_CODE,
            FiscalYear=year,
            AccountingDocument=document,
            Customer=customer,
            TransactionCurrency=currency,
            ClearedAmount=cleared,
            ResidualAmount=residual,
            ClearingStatus="B" if residual else "C",
        )
        values.setdefault("PostingDate", today)
        values.setdefault("DocumentDate", today)
        self._store.insert("IncomingPayment", (COMPANY_CODE, year, document), values)
        self._credit.refresh(customer)
        self._events.emit(
            JOURNAL_ENTRY_CREATED,
            {"CompanyCode": COMPANY_CODE, "FiscalYear": year, "AccountingDocument": document},
        )
        return Created(INCOMING_PAYMENT, (COMPANY_CODE, year, document))

    def _post_line(
        self,
        invoice: Record,
        posted: dict[str, Any],
        year: str,
        line: int,
        applied: Decimal,
        payment: dict[str, Any],
    ) -> None:
        document = str(posted["Document"])
        values = {
            **invoice.values,
            "FiscalYear": year,
            "AccountingDocument": document,
            "AccountingDocumentItem": str(line),
            "AccountingDocumentType": "DZ",
            "DebitCreditCode": "H",
            "PostingDate": posted["PostingDate"],
            "DocumentDate": payment.get("DocumentDate") or posted["PostingDate"],
            "InvoiceReference": invoice.values["AccountingDocument"],
            "InvoiceReferenceFiscalYear": invoice.values["FiscalYear"],
            "InvoiceItemReference": invoice.values["AccountingDocumentItem"],
            "IsCleared": False,
            "ClearingDate": None,
            "ClearingAccountingDocument": None,
            "ClearingDocFiscalYear": None,
            "AmountInTransactionCurrency": -applied,
            "AmountInCompanyCodeCurrency": -applied,
            "PaymentReference": payment.get("PaymentReference"),
            "DocumentReferenceID": payment.get("DocumentReferenceID"),
            "AssignmentReference": payment.get("PaymentReference"),
            "LastChangeDate": posted["PostingDate"],
        }
        self._store.insert(_ITEMS, _item_key(values), values)

    def _clear(self, item: dict[str, Any], document: str, year: str, today: datetime) -> None:
        # Re-read: the line may have been written a moment ago in this same payment.
        record = self._store.get(_ITEMS, _item_key(item))
        if record is None:
            return
        values = {
            **record.values,
            "IsCleared": True,
            "ClearingDate": today,
            "ClearingAccountingDocument": document,
            "ClearingDocFiscalYear": year,
            "LastChangeDate": today,
        }
        self._store.update(_ITEMS, _item_key(values), values)

    def _set_clearing_status(self, invoice: Record, *, settled: bool) -> None:
        billing_document = str(invoice.values["BillingDocument"])
        record = self._store.get("A_BillingDocument", (billing_document,))
        if record is None:
            return
        values = {**record.values, "InvoiceClearingStatus": "C" if settled else "B"}
        values["LastChangeDate"] = day(self._clock())
        self._store.update("A_BillingDocument", (billing_document,), values)
