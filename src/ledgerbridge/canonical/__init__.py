"""The canonical data model: one shape for each business record, whatever system holds it.

Pydantic v2 models, frozen and closed (unknown fields are refused). Money is a Decimal with an
ISO 4217 currency, countries are ISO 3166-1 alpha-2, datetimes are UTC. The models know nothing
of any backend, of HTTP or of storage.
"""

from ledgerbridge.canonical._base import (
    CanonicalModel,
    CountryCode,
    CurrencyCode,
    UnitCode,
    UtcDatetime,
)
from ledgerbridge.canonical._case import Case, CasePriority, CaseStatus
from ledgerbridge.canonical._codes import COUNTRY_NAMES, is_country, is_currency, minor_units
from ledgerbridge.canonical._contact import Contact, EmailAddress
from ledgerbridge.canonical._credit import CreditExposure, CreditLimit
from ledgerbridge.canonical._invoice import Invoice, InvoiceLine, InvoiceStatus
from ledgerbridge.canonical._money import CurrencyMismatch, Money
from ledgerbridge.canonical._opportunity import Opportunity, OpportunityStage
from ledgerbridge.canonical._order import (
    Order,
    OrderLine,
    OrderStatus,
    SalesOrderItem,
    SalesOrderState,
)
from ledgerbridge.canonical._party import Address, Party
from ledgerbridge.canonical._price import Price, PriceBook
from ledgerbridge.canonical._product import Product
from ledgerbridge.canonical._receivable import Payment, ReceivableItem

__all__ = [
    "COUNTRY_NAMES",
    "Address",
    "CanonicalModel",
    "Case",
    "CasePriority",
    "CaseStatus",
    "Contact",
    "CountryCode",
    "CreditExposure",
    "CreditLimit",
    "CurrencyCode",
    "CurrencyMismatch",
    "EmailAddress",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Money",
    "Opportunity",
    "OpportunityStage",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Party",
    "Payment",
    "Price",
    "PriceBook",
    "Product",
    "ReceivableItem",
    "SalesOrderItem",
    "SalesOrderState",
    "UnitCode",
    "UtcDatetime",
    "is_country",
    "is_currency",
    "minor_units",
]
