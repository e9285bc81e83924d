"""The demo data a ready Tryton database holds: who sells, to whom, what, and how.

Tests and the demo find these records again by these names, codes and CRM ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MODULES = [
    "party",
    "company",
    "currency",
    "product",
    "account",
    "account_invoice",
    "account_product",
    "sale",
    "account_credit_limit",
    "sale_credit_limit",
]
"""The Tryton modules activated (with their dependencies)."""

ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "tryton-admin-demo"  # noqa: S105  (a throwaway demo database)
INTEGRATION_LOGIN = "ledgerbridge"
INTEGRATION_PASSWORD = "ledgerbridge-demo"  # noqa: S105  (a throwaway demo database)
"""ledgerbridge logs in as a plain user (sales, accounting, parties, products): not an
administrator and not in the credit limit group, so an exceeded credit limit is an error
rather than a warning that could be acknowledged."""

COMPANY_NAME = "Ledgerbridge Demo Ltd"
CURRENCY_CODE = "USD"
PAYMENT_TERM_NAME = "Net 30"
PAYMENT_METHOD_NAME = "Cash"
PRODUCT_CATEGORY_NAME = "Goods for resale"


@dataclass(frozen=True)
class DemoCustomer:
    """A customer party, identified by its CRM account id."""

    crm_id: str
    name: str
    credit_limit: Decimal | None
    street: str
    postal_code: str
    city: str


@dataclass(frozen=True)
class DemoProduct:
    """A salable service product, with its list price in the company currency."""

    code: str
    name: str
    list_price: Decimal


CUSTOMERS = (
    DemoCustomer(
        "001DEMO000000001", "ACME Corp", Decimal("1000.00"), "1 Main Street", "10115", "Springfield"
    ),
    DemoCustomer(
        "001DEMO000000002",
        "Globex Inc",
        Decimal("50000.00"),
        "42 Harbour Road",
        "20095",
        "Shelbyville",
    ),
    DemoCustomer("001DEMO000000003", "Initech LLC", None, "7 Office Park", "80331", "Capital City"),
)

PRODUCTS = (
    DemoProduct("LB-100", "Ledger Adapter", Decimal("250.00")),
    DemoProduct("LB-200", "Bridge Support Plan", Decimal("1200.00")),
    DemoProduct("LB-300", "Integration Hour", Decimal("95.50")),
)
