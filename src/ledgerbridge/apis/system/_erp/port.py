"""The ERP port: what the ERP System APIs need from an ERP, in canonical terms.

An adapter per ERP (S/4HANA, Tryton) implements it; configuration chooses which one stands
behind the APIs, and nothing above them changes. Every adapter offers `ErpPort` (customers
and sales orders); the other capabilities are protocols of their own, checked at run time,
so an adapter grows one capability at a time and an ERP API is served only where the ERP
behind it offers what the API needs.

Lists take an ``offset`` and a ``limit`` and return at most ``limit`` records in a stable
order. Single reads return the record with the ETag of the version read; an update takes
that ETag back and raises `PreconditionFailed` when the record changed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar, runtime_checkable

from ledgerbridge.canonical import (
    CreditExposure,
    CreditLimit,
    Invoice,
    InvoiceStatus,
    Order,
    OrderStatus,
    Party,
    Payment,
    Price,
    Product,
    ReceivableItem,
    SalesOrderState,
)
from ledgerbridge.runtime.errors import BackendRejected, LedgerbridgeError

RecordT = TypeVar("RecordT")


@dataclass(frozen=True, slots=True)
class Versioned(Generic[RecordT]):
    """A record as read, and the ETag of that version (None where the ERP keeps none)."""

    record: RecordT
    etag: str | None


class ErpCustomers(Protocol):
    """Customers (business partners)."""

    async def ensure_customer(self, party: Party) -> tuple[Party, bool]:
        """The customer for ``party.crm_id``, created when missing; and whether it was created."""
        ...

    async def get_customer(self, customer_id: str) -> Party:
        """The customer with ERP id ``customer_id``."""
        ...

    async def ensure_customers(
        self, parties: Sequence[Party]
    ) -> list[tuple[Party, bool] | LedgerbridgeError]:
        """`ensure_customer` for each party (unique ``crm_id``s), batched where the ERP can.

        Returns, per party in order, what `ensure_customer` would, or the error that kept
        that party out; one party's failure does not stop the others.
        """
        ...

    async def list_customers(
        self,
        *,
        crm_id: str | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Party]:
        """Customers matching every filter given, by ERP id; as `get_customer` reads them.

        ``changed_since`` keeps the customers changed after it, at the precision the ERP
        stamps changes with: a superset at worst, never one missed.
        """
        ...


@runtime_checkable
class ErpCustomerUpdates(Protocol):
    """Customers changed in place: the name and billing address a CRM or a person edits."""

    async def read_customer(self, customer_id: str) -> Versioned[Party]:
        """The customer with ERP id ``customer_id`` and the ETag of the version read."""
        ...

    async def update_customer(
        self, customer_id: str, party: Party, *, etag: str
    ) -> Versioned[Party]:
        """Set the name and billing address of a customer still at version ``etag``.

        A ``party.crm_id`` other than the customer's, or no billing address where the
        customer has one, is refused (`BackendRejected` naming the field).
        """
        ...


def customer_change(current: Party, party: Party, *, backend: str) -> Party:
    """``party`` as the update of ``current`` an `ErpCustomerUpdates` adapter writes: its ids
    those of ``current``; refused where it would move the CRM id or drop the address."""
    if party.crm_id is not None and party.crm_id != current.crm_id:
        raise BackendRejected(
            f"customer {current.erp_id} belongs to CRM account {current.crm_id}",
            backend=backend,
            fields=["crm_id"],
        )
    if party.billing_address is None and current.billing_address is not None:
        raise BackendRejected(
            f"customer {current.erp_id} has a billing address; send the one it should have",
            backend=backend,
            fields=["billing_address"],
        )
    return party.model_copy(update={"crm_id": current.crm_id, "erp_id": current.erp_id})


class ErpSalesOrders(Protocol):
    """Sales orders."""

    async def create_sales_order(self, order: Order) -> tuple[SalesOrderState, bool]:
        """The sales order of ``order.crm_id``, created when missing; and whether it was created."""
        ...

    async def get_sales_order(self, erp_number: str) -> SalesOrderState:
        """The sales order with ERP number ``erp_number``."""
        ...

    async def list_sales_orders(
        self,
        *,
        customer_erp_id: str | None,
        status: OrderStatus | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[SalesOrderState]:
        """Sales orders matching every filter given, by number; as `get_sales_order` reads
        them. A status the ERP never gives an order (``draft``, say) matches none."""
        ...


@runtime_checkable
class ErpProducts(Protocol):
    """Products (materials), keyed by SKU."""

    async def list_products(
        self,
        *,
        active: bool | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Product]:
        """Products by SKU, active or not, changed after ``changed_since`` (all when None)."""
        ...

    async def get_product(self, sku: str) -> Versioned[Product]:
        """The product with ``sku``."""
        ...

    async def upsert_product(self, product: Product) -> tuple[Versioned[Product], bool]:
        """Make the product with ``product.sku`` look like ``product``; and whether it was new."""
        ...

    async def update_product(self, product: Product, *, etag: str) -> Versioned[Product]:
        """Change the product with ``product.sku``, if it is still the version ``etag``."""
        ...


@runtime_checkable
class ErpPricing(Protocol):
    """List prices (condition records) per product, sales organisation and channel."""

    async def list_prices(
        self,
        *,
        sku: str | None,
        sales_organization: str | None,
        distribution_channel: str | None,
        valid_on: date | None,
        offset: int,
        limit: int,
    ) -> list[Price]:
        """Prices matching every filter given, by ERP id."""
        ...

    async def get_price(self, erp_id: str) -> Versioned[Price]:
        """The price with ERP id ``erp_id``."""
        ...

    async def upsert_price(self, price: Price) -> tuple[Versioned[Price], bool]:
        """The price of its product, organisation, channel and start date set to ``price``.

        Returns it, and whether it was created.
        """
        ...

    async def update_price(self, erp_id: str, price: Price, *, etag: str) -> Versioned[Price]:
        """Change the amount, quantity or activity of a price still at version ``etag``."""
        ...


@runtime_checkable
class ErpBilling(Protocol):
    """Invoices (billing documents), which the ERP's billing run creates."""

    async def list_invoices(
        self,
        *,
        customer_erp_id: str | None,
        po_number: str | None,
        status: InvoiceStatus | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Invoice]:
        """Invoices matching every filter given, by number."""
        ...

    async def get_invoice(self, erp_number: str) -> Versioned[Invoice]:
        """The invoice with ERP number ``erp_number``."""
        ...

    async def cancel_invoice(self, erp_number: str) -> tuple[Invoice, bool]:
        """Cancel an unpaid invoice; and whether this call cancelled it (False: it already was)."""
        ...


@runtime_checkable
class ErpReceivables(Protocol):
    """Open and cleared receivables, and incoming payments that clear them."""

    async def list_receivables(
        self,
        *,
        customer_erp_id: str | None,
        invoice_erp_number: str | None,
        cleared: bool | None,
        offset: int,
        limit: int,
    ) -> list[ReceivableItem]:
        """Customer line items matching every filter given."""
        ...

    async def list_payments(
        self,
        *,
        customer_erp_id: str | None,
        reference: str | None,
        offset: int,
        limit: int,
    ) -> list[Payment]:
        """Incoming payments matching every filter given."""
        ...

    async def get_payment(self, company_code: str, fiscal_year: str, document: str) -> Payment:
        """The incoming payment with that accounting document."""
        ...

    async def post_payment(self, payment: Payment) -> tuple[Payment, bool]:
        """The payment of ``payment.reference``, posted when missing; and whether it was posted."""
        ...


@runtime_checkable
class ErpCredit(Protocol):
    """Credit limits per customer and credit segment, and how much of them is used."""

    async def list_credit_limits(
        self,
        *,
        customer_erp_id: str | None,
        blocked: bool | None,
        offset: int,
        limit: int,
    ) -> list[CreditLimit]:
        """Credit limits matching every filter given."""
        ...

    async def get_credit_limit(self, customer_erp_id: str, segment: str) -> Versioned[CreditLimit]:
        """The credit limit of a customer in a segment."""
        ...

    async def upsert_credit_limit(
        self, credit_limit: CreditLimit
    ) -> tuple[Versioned[CreditLimit], bool]:
        """Set the customer's limit in its segment, opening it when missing; and whether it was."""
        ...

    async def update_credit_limit(
        self, credit_limit: CreditLimit, *, etag: str
    ) -> Versioned[CreditLimit]:
        """Change a credit limit still at version ``etag``."""
        ...

    async def get_credit_exposure(self, customer_erp_id: str, segment: str) -> CreditExposure:
        """The customer's limit in a segment and how much of it open business uses."""
        ...


class ErpPort(ErpCustomers, ErpSalesOrders, Protocol):
    """What every ERP adapter offers; failures raise the runtime error tree.

    Writes are idempotent. Which optional capabilities an adapter has besides is asked with
    ``isinstance(erp, ErpProducts)`` and the like.
    """

    async def aclose(self) -> None:
        """Release the connection to the ERP."""
        ...
