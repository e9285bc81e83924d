"""Matching a payment to a customer's open invoices: by the references the payer quoted,
then by amount; and spreading the amount over the invoices found, oldest due first.

Pure functions over the open items, so every rule is plain to read and to test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledgerbridge.apis.process.cash_application.client import MatchedBy, ReviewReason
from ledgerbridge.canonical import ReceivableItem


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """An invoice with money still owed on it."""

    number: str
    customer_erp_id: str
    balance: Decimal
    currency: str
    due_date: date | None
    reference: str | None


@dataclass(frozen=True, slots=True)
class Match:
    """The invoices a payment pays, in the order its amount goes to them."""

    invoices: list[OpenInvoice]
    matched_by: MatchedBy


@dataclass(frozen=True, slots=True)
class Unmatched:
    """Why a person must choose, and the invoices they may choose from."""

    reason: ReviewReason
    detail: str
    candidates: list[OpenInvoice]


def open_invoices(items: Iterable[ReceivableItem]) -> list[OpenInvoice]:
    """The open invoices among uncleared receivable items, oldest due first.

    An invoice's balance is its own item less the part payments beside it; its due date and
    customer reference come from its own (debit) item.
    """
    balances: dict[str, Decimal] = {}
    own: dict[str, ReceivableItem] = {}
    for item in items:
        number = item.invoice_erp_number
        if number is None or item.cleared:
            continue
        balances[number] = balances.get(number, Decimal(0)) + item.amount.amount
        if item.amount.amount > 0:
            own[number] = item
    found = [
        OpenInvoice(
            number=number,
            customer_erp_id=own[number].customer_erp_id,
            balance=balance,
            currency=own[number].amount.currency,
            due_date=own[number].due_date,
            reference=own[number].reference,
        )
        for number, balance in balances.items()
        if balance > 0 and number in own
    ]
    return sorted(found, key=lambda invoice: (invoice.due_date or date.max, invoice.number))


def match(
    invoices: Sequence[OpenInvoice], amount: Decimal, references: Sequence[str]
) -> Match | Unmatched:
    """The invoices ``amount`` pays: those the references name (by invoice number or customer
    reference), else the one open invoice of exactly that amount, else all of them when the
    amount is their total; otherwise why not."""
    if not invoices:
        return Unmatched(ReviewReason.NO_OPEN_INVOICE, "the customer has no open invoice", [])
    named = [
        invoice
        for invoice in invoices
        if any(reference in {invoice.number, invoice.reference} for reference in references)
    ]
    if named:
        quoted = {reference: position for position, reference in enumerate(references)}
        # In the order the payer quoted them (a stable sort keeps due-date order for ties).
        named.sort(
            key=lambda invoice: min(
                quoted[key] for key in (invoice.number, invoice.reference) if key in quoted
            )
        )
        return Match(named, MatchedBy.REFERENCE)
    exact = [invoice for invoice in invoices if invoice.balance == amount]
    if len(exact) == 1:
        return Match(exact, MatchedBy.AMOUNT)
    if exact:
        detail = f"{len(exact)} open invoices of the customer are of {amount}"
        return Unmatched(ReviewReason.AMBIGUOUS_AMOUNT, detail, exact)
    if len(invoices) > 1 and sum(invoice.balance for invoice in invoices) == amount:
        return Match(list(invoices), MatchedBy.AMOUNT)
    detail = (
        "no reference names an open invoice of the customer, and no open invoice "
        f"(nor all of them together) is of {amount}"
    )
    return Unmatched(ReviewReason.NO_REFERENCE, detail, list(invoices))


def allocate(
    invoices: Sequence[OpenInvoice], amount: Decimal
) -> tuple[list[tuple[OpenInvoice, Decimal]], Decimal]:
    """Spread ``amount`` over ``invoices`` in order, each up to its balance; returns the
    parts and what is left over."""
    parts: list[tuple[OpenInvoice, Decimal]] = []
    remaining = amount
    for invoice in invoices:
        if remaining <= 0:
            break
        applied = min(remaining, invoice.balance)
        parts.append((invoice, applied))
        remaining -= applied
    return parts, remaining
