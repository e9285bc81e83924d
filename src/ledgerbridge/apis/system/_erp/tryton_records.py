"""Tryton records as the adapter reads them, and as canonical models through the mappings.

What the adapter asks Tryton for (fields and domains), and the pure steps from a record to a
canonical model: related records nested, and the few values the mappings need computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledgerbridge.canonical import (
    Invoice,
    InvoiceStatus,
    OrderStatus,
    Party,
    Payment,
    Price,
    Product,
    ReceivableItem,
    SalesOrderState,
)
from ledgerbridge.connectors.tryton import TrytonRecord
from ledgerbridge.mapping import load_mapping

CREDIT_HOLD_MARK = "Credit hold: "
"""How the adapter notes a credit limit refusal in the sale's comment, followed by Tryton's
reason: the note is what tells a held quotation from one not confirmed yet."""

PARTY_FIELDS = (
    "name",
    "identifiers.code",
    "identifiers.type",
    "addresses.street",
    "addresses.city",
    "addresses.postal_code",
    "addresses.country.code",
)
# A party with the stamps its version is made of: its own and its addresses'.
PARTY_VERSION_FIELDS = (
    *PARTY_FIELDS,
    "create_date",
    "write_date",
    "addresses.create_date",
    "addresses.write_date",
)
SALE_FIELDS = (
    "reference",
    "description",
    "sale_date",
    "state",
    "invoice_state",
    "party",
    "untaxed_amount",
    "comment",
    "currency.code",
    "lines.type",
    "lines.product.code",
    "lines.description",
    "lines.quantity",
    "lines.unit.symbol",
    "lines.unit_price",
    "lines.amount",
)
INVOICE_FIELDS = (
    "state",
    "party",
    "company",
    "invoice_date",
    "currency.code",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
    "amount_to_pay",
    "move.number",
    "move.period.fiscalyear.name",
    "lines_to_pay.maturity_date",
    "sales.description",
    "lines.type",
    "lines.product.code",
    "lines.description",
    "lines.quantity",
    "lines.unit.symbol",
    "lines.amount",
    "create_date",
    "write_date",
)
PRODUCT_FIELDS = (
    "code",
    "active",
    "template.name",
    "template.list_price",
    "template.create_date",
    "template.write_date",
    "default_uom.symbol",
    "create_date",
    "write_date",
)
# Inactive products too: naming `active` in a domain turns Tryton's default filter off.
ANY_ACTIVE = ["active", "in", [True, False]]
CREDIT_FIELDS = ("credit_limit_amount", "create_date", "write_date")
MOVE_LINE_FIELDS = (
    "party",
    "debit",
    "credit",
    "maturity_date",
    "reconciliation.date",
    "move.number",
    "move.company",
    "move.date",
    "move.description",
    "move.origin",
    "move.period.fiscalyear.name",
)
# Customer items in accounts receivable, once posted.
RECEIVABLE = [["account.type.receivable", "=", True], ["move.state", "=", "posted"]]
# Incoming payments: what Tryton's pay wizard posts, a receivable credit in a cash journal.
PAYMENT = [*RECEIVABLE, ["credit", ">", 0], ["move.journal.type", "=", "cash"]]
DEFAULT_CREDIT_SEGMENT = "1000"
"""The segment name Tryton's credit limits are served under: the one the order-to-cash process
and the sales desk ask for, so that they find the customer's limit on either ERP."""

OPEN_STATES = ("draft", "quotation")
PARTY_PAGE = 500
# Customer invoices that have been issued: only a posted invoice has its date and number.
ISSUED = [["type", "=", "out"], ["invoice_date", "!=", None]]
INVOICE_STATES: dict[InvoiceStatus, str] = {
    InvoiceStatus.OPEN: "posted",
    InvoiceStatus.PARTIALLY_PAID: "posted",
    InvoiceStatus.PAID: "paid",
    InvoiceStatus.CANCELLED: "cancelled",
}


def plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as nested dicts: Tryton answers ``"party.rec_name"`` as ``{"party.": {...}}``."""
    nested: dict[str, Any] = {}
    for key, value in record.items():
        if key.endswith("."):
            nested[key[:-1]] = _nested(value)
        elif key not in nested:
            nested[key] = value
    return nested


def _nested(value: Any) -> Any:
    if isinstance(value, Mapping):
        return plain(value)
    if isinstance(value, list):
        return [_nested(item) for item in value]
    return value


def etag(record: TrytonRecord) -> str:
    """A weak ETag of the record's version: Tryton stamps every write with write_date."""
    stamp = record.get("write_date") or record.get("create_date")
    return f'W/"{record.id}-{stamp.isoformat() if stamp else 0}"'


def invoice_from(record: TrytonRecord) -> Invoice:
    invoice = plain(record)
    total, to_pay = invoice.get("total_amount"), invoice.get("amount_to_pay")
    partial = invoice["state"] == "posted" and to_pay is not None and 0 < to_pay < total
    source = {
        **invoice,
        "lines": [line for line in invoice.get("lines") or () if line.get("type") == "line"],
        "payment": "partial" if partial else "",
    }
    return load_mapping("tryton_invoice_to_invoice").to_model(
        source, Invoice, record_id=str(record.id)
    )


def _move_line(record: TrytonRecord, currency: str) -> dict[str, Any]:
    """A move line as nested dicts, with its currency and the id of the invoice it comes from."""
    line = plain(record)
    origin = str(line["move"].get("origin") or "")
    model, _, origin_id = origin.partition(",")
    return {
        **line,
        "currency": currency,
        "invoice": origin_id if model == "account.invoice" else None,
    }


def receivable_from(record: TrytonRecord, currency: str) -> ReceivableItem:
    line = _move_line(record, currency)
    source = {
        **line,
        "amount": line["debit"] - line["credit"],
        "cleared": line.get("reconciliation") is not None,
    }
    return load_mapping("tryton_receivable_line_to_receivable_item").to_model(
        source, ReceivableItem, record_id=str(record.id)
    )


def payment_from(record: TrytonRecord, currency: str) -> Payment:
    return load_mapping("tryton_payment_line_to_payment").to_model(
        _move_line(record, currency), Payment, record_id=str(record.id)
    )


def noted_hold(comment: str | None) -> bool:
    return bool(comment) and str(comment).startswith(CREDIT_HOLD_MARK)


_HELD = [["state", "=", "quotation"], ["comment", "like", CREDIT_HOLD_MARK + "%"]]
_NOT_HELD = [
    "OR",
    ["state", "!=", "quotation"],
    ["comment", "=", None],
    ["comment", "not like", CREDIT_HOLD_MARK + "%"],
]
_LIVE = ["state", "not in", ["cancelled", "done"]]
_BILLED = ["partially paid", "awaiting payment"]
SALE_STATUS_DOMAINS: dict[OrderStatus, list[Any]] = {
    # As tryton_sale_to_order_status tells them, pattern by pattern in its order.
    OrderStatus.CANCELLED: [["state", "=", "cancelled"]],
    OrderStatus.CREDIT_HOLD: _HELD,
    OrderStatus.CLOSED: [["state", "=", "done"]],
    OrderStatus.PAID: [_LIVE, _NOT_HELD, ["invoice_state", "=", "paid"]],
    OrderStatus.INVOICED: [_LIVE, _NOT_HELD, ["invoice_state", "in", _BILLED]],
    OrderStatus.IN_ERP: [_LIVE, _NOT_HELD, ["invoice_state", "not in", ["paid", *_BILLED]]],
}
"""Domain of each status a Tryton sale can be in; no sale is in any other."""


def sale_state_from(record: TrytonRecord) -> SalesOrderState:
    """A sale read with `SALE_FIELDS`, its product lines only, held or not by its comment."""
    sale = plain(record)
    held = sale["state"] == "quotation" and noted_hold(sale.get("comment"))
    source = {
        **sale,
        "lines": [line for line in sale.get("lines") or () if line.get("type") == "line"],
        "credit_hold": "hold" if held else "",
    }
    return load_mapping("tryton_sale_to_order_status").to_model(
        source, SalesOrderState, record_id=str(record.id)
    )


def party_from(record: TrytonRecord) -> Party:
    return load_mapping("tryton_party_to_party").to_model(
        plain(record), Party, record_id=str(record.id)
    )


def product_from(record: TrytonRecord) -> Product:
    # Tryton on SQLite reads booleans back as 0 and 1.
    source = {**plain(record), "active": bool(record["active"])}
    return load_mapping("tryton_product_to_product").to_model(
        source, Product, record_id=str(record.get("code"))
    )


def price_from(record: TrytonRecord, currency: str) -> Price:
    source = {**plain(record), "active": bool(record["active"]), "currency": currency}
    return load_mapping("tryton_list_price_to_price").to_model(
        source, Price, record_id=str(record.get("code"))
    )


def party_etag(record: TrytonRecord) -> str:
    """A weak ETag of a party and its addresses (each address is a record of its own)."""
    party = plain(record)
    stamps = [
        stamp
        for source in (party, *party.get("addresses", ()))
        for stamp in (source.get("write_date"), source.get("create_date"))
        if stamp is not None
    ]
    return f'W/"{record.id}-{max(stamps).isoformat() if stamps else 0}"'


def product_etag(record: TrytonRecord) -> str:
    """A weak ETag of a product and its template (the name and activity live on the template)."""
    product = plain(record)
    stamps = [
        stamp
        for source in (product, product["template"])
        for stamp in (source.get("write_date"), source.get("create_date"))
        if stamp is not None
    ]
    return f'W/"{record.id}-{max(stamps).isoformat() if stamps else 0}"'
