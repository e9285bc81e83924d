"""The ERP switch: the one adapter the ERP System APIs serve from, changed while they serve.

The composition root builds the switch around the adapter the settings choose and hands it
to the System APIs as their ERP; each call goes to the adapter serving when it starts and
finishes there. A cut-over pauses the switch (new calls wait, calls in flight finish on the
old adapter), copies what the old ERP wrote meanwhile, and resumes on the new adapter.

Ids the old ERP issued stay valid after the switch: the cut-over teaches the switch each
old id's new one (`learn`), and calls carrying an old id reach the new ERP with the new id.

A switch attached to the store (`attach`) follows what the store records, so that every
worker process of the house agrees: it serves from the ERP the latest cut-over switched to
(a worker started after a cut-over too), and answers the old ids of each cut-over not yet
settled, until the Process layer has rewritten every stored reference (docs/tryton.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TypeVar, cast

import structlog

from ledgerbridge.apis.system._erp.port import (
    ErpBilling,
    ErpCredit,
    ErpCustomerUpdates,
    ErpPort,
    ErpPricing,
    ErpProducts,
    ErpReceivables,
    Versioned,
)
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
from ledgerbridge.runtime.store import Store
from ledgerbridge.runtime.store.renumbering import open_cutovers, serving_erp

log = structlog.get_logger("ledgerbridge.system.erp_switch")
CapabilityT = TypeVar("CapabilityT")
WriteListener = Callable[[str, str, str], None]
"""Told ``(entity, crm_id, erp_id)`` of each customer ("party") or order the ERP wrote."""
Cutover = Callable[[str], Awaitable[Mapping[str, int]]]
"""Cuts over to the named ERP; returns how many records of each kind it copied."""
ErpFactory = Callable[[str], ErpPort]
"""Builds the adapter of the named ERP."""

_CAPABILITIES = (
    ErpCustomerUpdates,
    ErpProducts,
    ErpPricing,
    ErpBilling,
    ErpReceivables,
    ErpCredit,
)


class ErpSwitch(
    ErpPort, ErpCustomerUpdates, ErpProducts, ErpPricing, ErpBilling, ErpReceivables, ErpCredit
):
    """The ERP the System APIs serve from; swapped by a cut-over without a restart.

    Usage::

        switch = ErpSwitch(S4HanaErp(s4), name="s4hana")
        backends = SystemBackends(salesforce=sf, erp=switch)
        async with switch.switching_to(TrytonErp(tryton), name="tryton"):
            ...  # new calls wait here; the old ERP has no call in flight
        # every call from now on reaches Tryton

    It offers every optional capability; a call to one the serving adapter lacks is refused
    with `BackendRejected`. ``cutover``, when the composition root sets it, is the operator's
    cut-over (backend-health's admin route runs it).
    """

    def __init__(self, erp: ErpPort, *, name: str) -> None:
        self._erp = erp
        self.name = name
        self.cutover: Cutover | None = None
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._open = asyncio.Event()
        self._open.set()
        self._listener: WriteListener | None = None
        self._renamed: dict[tuple[str, str], str] = {}
        self._old_party: dict[str, str] = {}
        self._told_old: set[str] = set()
        self._store: Store | None = None
        self._factory: ErpFactory | None = None
        self._refresh_every = 0.0
        self._refreshed_at = 0.0
        self._refreshing = asyncio.Lock()
        self._taught = False

    async def attach(
        self, store: Store, factory: ErpFactory, *, refresh_every: float = 1.0
    ) -> None:
        """Follow the store: serve from the ERP the latest cut-over recorded, and answer the
        old ids of every cut-over not settled; look again every ``refresh_every`` seconds.

        ``factory`` builds the adapter of an ERP this switch was not built with.
        """
        self._store, self._factory, self._refresh_every = store, factory, refresh_every
        await self.refresh()

    async def refresh(self) -> None:
        """Read the serving ERP and the open translations from the store, and follow them.

        Nothing changes while a cut-over driven here is under way: it teaches the switch
        itself, and forgets when its renumbering is rewritten.
        """
        store, factory = self._store, self._factory
        if store is None or factory is None or self._busy():
            return
        async with self._refreshing:
            self._refreshed_at = time.monotonic()
            async with store.engine.connect() as conn:
                serving = await serving_erp(conn)
                still_open = await open_cutovers(conn)
            if self._busy():
                return
            if serving is not None and serving != self.name:
                old, erp = self._erp, factory(serving)
                async with self.switching_to(erp, name=serving):
                    pass
                await old.aclose()
            renamed = {key: new for cutover in still_open for key, new in cutover.renamed.items()}
            self._renamed = renamed
            self._old_party = {
                new: old for (entity, old), new in renamed.items() if entity == "party"
            }
            if not renamed:
                self._told_old.clear()

    def _busy(self) -> bool:
        """Whether a cut-over driven from this process holds the switch."""
        return self._taught or self._listener is not None or not self._open.is_set()

    async def _maybe_refresh(self) -> None:
        if self._store is None or self._refreshing.locked():
            return
        if time.monotonic() - self._refreshed_at >= self._refresh_every:
            try:
                await self.refresh()
            except Exception:  # the store is down: serve on as the switch stands
                self._refreshed_at = time.monotonic()
                log.warning("erp switch could not read the store", exc_info=True)

    @property
    def current(self) -> ErpPort:
        """The adapter new calls go to."""
        return self._erp

    def observe(self, listener: WriteListener | None) -> None:
        """Tell ``listener`` of every customer and order written from now on (None: stop)."""
        self._listener = listener

    def learn(self, entity: str, old_id: str, new_id: str) -> None:
        """The record ``old_id`` of the old ERP is ``new_id`` in the one serving now."""
        self._renamed[entity, old_id] = new_id
        self._taught = True
        if entity == "party":
            self._old_party[new_id] = old_id

    def forget(self) -> None:
        """Take old ids as they come: the requests that knew them have finished.

        An attached switch reads the store again at its next call: a cut-over not settled
        there is still answered in old ids.
        """
        self._renamed.clear()
        self._old_party.clear()
        self._told_old.clear()
        self._taught = False
        self._refreshed_at = 0.0

    def hand_over(self) -> None:
        """Leave the old ids to the store: an attached switch answers them while the store
        keeps the cut-over open, and forgets them when it settles (an unattached one keeps
        what it learnt)."""
        self._taught = False
        self._refreshed_at = 0.0

    @contextlib.asynccontextmanager
    async def switching_to(self, erp: ErpPort, *, name: str) -> AsyncIterator[ErpPort]:
        """Pause new calls, wait for those in flight, and yield the old adapter; on leaving,
        serve from ``erp`` and let the waiting calls go on to it.

        Raises:
            LedgerbridgeError: ``erp`` lacks a capability the serving adapter offers.
        """
        missing = [c.__name__ for c in _CAPABILITIES if _would_lose(c, self._erp, erp)]
        if missing:
            raise LedgerbridgeError(f"ERP {name} lacks {', '.join(missing)}")
        if not self._open.is_set():
            raise LedgerbridgeError("a cut-over is already under way")
        self._open.clear()
        try:
            await self._drained.wait()
            yield self._erp
            self._erp, self.name = erp, name
        finally:
            self._open.set()

    @contextlib.asynccontextmanager
    async def _lease(self) -> AsyncIterator[ErpPort]:
        """The serving adapter, held for one call: a switch waits until it is given back."""
        await self._maybe_refresh()
        await self._open.wait()
        self._in_flight += 1
        self._drained.clear()
        try:
            yield self._erp
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._drained.set()

    @contextlib.asynccontextmanager
    async def _capable(self, capability: Callable[..., CapabilityT]) -> AsyncIterator[CapabilityT]:
        # A callable, not a type[...]: mypy takes no abstract protocol for a type parameter.
        async with self._lease() as erp:
            if not isinstance(erp, capability):  # type: ignore[arg-type]
                raise BackendRejected(
                    f"ERP {self.name} offers no {capability.__name__}", backend=self.name
                )
            yield cast("CapabilityT", erp)

    def _new(self, entity: str, erp_id: str) -> str:
        return self._renamed.get((entity, erp_id), erp_id)

    def _is_old(self, entity: str, erp_id: str | None) -> bool:
        return (entity, erp_id) in self._renamed

    def _maybe_new(self, entity: str, erp_id: str | None) -> str | None:
        return None if erp_id is None else self._new(entity, erp_id)

    def _wrote(self, entity: str, crm_id: str | None, erp_id: str | None) -> None:
        if self._listener is not None and crm_id is not None and erp_id is not None:
            self._listener(entity, crm_id, erp_id)

    async def aclose(self) -> None:
        """Release the serving adapter's connection."""
        await self._erp.aclose()

    # Customers and sales orders

    async def ensure_customer(self, party: Party) -> tuple[Party, bool]:
        """See `ErpPort.ensure_customer`."""
        async with self._lease() as erp:
            customer, created = await erp.ensure_customer(party)
            self._wrote("party", customer.crm_id, customer.erp_id)
        return customer, created

    async def get_customer(self, customer_id: str) -> Party:
        """See `ErpPort.get_customer`."""
        async with self._lease() as erp:
            return await erp.get_customer(self._new("party", customer_id))

    async def read_customer(self, customer_id: str) -> Versioned[Party]:
        """See `ErpCustomerUpdates.read_customer`."""
        async with self._capable(ErpCustomerUpdates) as erp:
            return await erp.read_customer(self._new("party", customer_id))

    async def update_customer(
        self, customer_id: str, party: Party, *, etag: str
    ) -> Versioned[Party]:
        """See `ErpCustomerUpdates.update_customer`."""
        async with self._capable(ErpCustomerUpdates) as erp:
            return await erp.update_customer(self._new("party", customer_id), party, etag=etag)

    async def ensure_customers(
        self, parties: Sequence[Party]
    ) -> list[tuple[Party, bool] | LedgerbridgeError]:
        """See `ErpPort.ensure_customers`."""
        async with self._lease() as erp:
            outcomes = await erp.ensure_customers(parties)
            for outcome in outcomes:
                if isinstance(outcome, tuple):
                    self._wrote("party", outcome[0].crm_id, outcome[0].erp_id)
        return outcomes

    async def create_sales_order(self, order: Order) -> tuple[SalesOrderState, bool]:
        """See `ErpPort.create_sales_order`.

        An order placed for a customer's old id is told in old ids, here and when read back.
        """
        async with self._lease() as erp:
            customer = self._maybe_new("party", order.customer_erp_id)
            # Both ERPs number from 1: an old id may equal a new one, so ask, never compare.
            old_customer = self._is_old("party", order.customer_erp_id)
            sales_order, created = await erp.create_sales_order(
                order.model_copy(update={"customer_erp_id": customer})
            )
            self._wrote("order", order.crm_id, sales_order.erp_number)
        if old_customer and sales_order.erp_number is not None:
            self._told_old.add(sales_order.erp_number)
            return self._in_old_ids(sales_order, sales_order.erp_number), created
        return sales_order, created

    async def get_sales_order(self, erp_number: str) -> SalesOrderState:
        """See `ErpPort.get_sales_order`: one asked for by an old number, or placed for an
        old customer id, is told in old ids."""
        async with self._lease() as erp:
            # Renamed once leased: a call that waited out a switch learns the new number.
            number = self._new("order", erp_number)
            old_number = self._is_old("order", erp_number)
            sales_order = await erp.get_sales_order(number)
        if old_number or number in self._told_old:
            return self._in_old_ids(sales_order, erp_number)
        return sales_order

    def _in_old_ids(self, sales_order: SalesOrderState, erp_number: str) -> SalesOrderState:
        customer = sales_order.customer_erp_id
        return sales_order.model_copy(
            update={
                "erp_number": erp_number,
                "customer_erp_id": self._old_party.get(customer, customer) if customer else None,
            }
        )

    async def list_sales_orders(
        self,
        *,
        customer_erp_id: str | None,
        status: OrderStatus | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[SalesOrderState]:
        """See `ErpSalesOrders.list_sales_orders`: a customer's old id finds its orders."""
        async with self._lease() as erp:
            return await erp.list_sales_orders(
                customer_erp_id=self._maybe_new("party", customer_erp_id),
                status=status,
                changed_since=changed_since,
                offset=offset,
                limit=limit,
            )

    async def list_customers(
        self, *, crm_id: str | None, changed_since: datetime | None, offset: int, limit: int
    ) -> list[Party]:
        """See `ErpCustomers.list_customers`."""
        async with self._lease() as erp:
            return await erp.list_customers(
                crm_id=crm_id, changed_since=changed_since, offset=offset, limit=limit
            )

    # Products and prices

    async def list_products(
        self, *, active: bool | None, changed_since: datetime | None, offset: int, limit: int
    ) -> list[Product]:
        """See `ErpProducts.list_products`."""
        async with self._capable(ErpProducts) as erp:
            return await erp.list_products(
                active=active, changed_since=changed_since, offset=offset, limit=limit
            )

    async def get_product(self, sku: str) -> Versioned[Product]:
        """See `ErpProducts.get_product`."""
        async with self._capable(ErpProducts) as erp:
            return await erp.get_product(sku)

    async def upsert_product(self, product: Product) -> tuple[Versioned[Product], bool]:
        """See `ErpProducts.upsert_product`."""
        async with self._capable(ErpProducts) as erp:
            return await erp.upsert_product(product)

    async def update_product(self, product: Product, *, etag: str) -> Versioned[Product]:
        """See `ErpProducts.update_product`."""
        async with self._capable(ErpProducts) as erp:
            return await erp.update_product(product, etag=etag)

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
        """See `ErpPricing.list_prices`."""
        async with self._capable(ErpPricing) as erp:
            return await erp.list_prices(
                sku=sku,
                sales_organization=sales_organization,
                distribution_channel=distribution_channel,
                valid_on=valid_on,
                offset=offset,
                limit=limit,
            )

    async def get_price(self, erp_id: str) -> Versioned[Price]:
        """See `ErpPricing.get_price`."""
        async with self._capable(ErpPricing) as erp:
            return await erp.get_price(erp_id)

    async def upsert_price(self, price: Price) -> tuple[Versioned[Price], bool]:
        """See `ErpPricing.upsert_price`."""
        async with self._capable(ErpPricing) as erp:
            return await erp.upsert_price(price)

    async def update_price(self, erp_id: str, price: Price, *, etag: str) -> Versioned[Price]:
        """See `ErpPricing.update_price`."""
        async with self._capable(ErpPricing) as erp:
            return await erp.update_price(erp_id, price, etag=etag)

    # Invoices, receivables and payments

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
        """See `ErpBilling.list_invoices`."""
        async with self._capable(ErpBilling) as erp:
            return await erp.list_invoices(
                customer_erp_id=self._maybe_new("party", customer_erp_id),
                po_number=po_number,
                status=status,
                changed_since=changed_since,
                offset=offset,
                limit=limit,
            )

    async def get_invoice(self, erp_number: str) -> Versioned[Invoice]:
        """See `ErpBilling.get_invoice`."""
        async with self._capable(ErpBilling) as erp:
            return await erp.get_invoice(erp_number)

    async def cancel_invoice(self, erp_number: str) -> tuple[Invoice, bool]:
        """See `ErpBilling.cancel_invoice`."""
        async with self._capable(ErpBilling) as erp:
            return await erp.cancel_invoice(erp_number)

    async def list_receivables(
        self,
        *,
        customer_erp_id: str | None,
        invoice_erp_number: str | None,
        cleared: bool | None,
        offset: int,
        limit: int,
    ) -> list[ReceivableItem]:
        """See `ErpReceivables.list_receivables`."""
        async with self._capable(ErpReceivables) as erp:
            return await erp.list_receivables(
                customer_erp_id=self._maybe_new("party", customer_erp_id),
                invoice_erp_number=invoice_erp_number,
                cleared=cleared,
                offset=offset,
                limit=limit,
            )

    async def list_payments(
        self, *, customer_erp_id: str | None, reference: str | None, offset: int, limit: int
    ) -> list[Payment]:
        """See `ErpReceivables.list_payments`."""
        async with self._capable(ErpReceivables) as erp:
            return await erp.list_payments(
                customer_erp_id=self._maybe_new("party", customer_erp_id),
                reference=reference,
                offset=offset,
                limit=limit,
            )

    async def get_payment(self, company_code: str, fiscal_year: str, document: str) -> Payment:
        """See `ErpReceivables.get_payment`."""
        async with self._capable(ErpReceivables) as erp:
            return await erp.get_payment(company_code, fiscal_year, document)

    async def post_payment(self, payment: Payment) -> tuple[Payment, bool]:
        """See `ErpReceivables.post_payment`."""
        async with self._capable(ErpReceivables) as erp:
            return await erp.post_payment(payment)

    # Credit

    async def list_credit_limits(
        self, *, customer_erp_id: str | None, blocked: bool | None, offset: int, limit: int
    ) -> list[CreditLimit]:
        """See `ErpCredit.list_credit_limits`."""
        async with self._capable(ErpCredit) as erp:
            return await erp.list_credit_limits(
                customer_erp_id=self._maybe_new("party", customer_erp_id),
                blocked=blocked,
                offset=offset,
                limit=limit,
            )

    async def get_credit_limit(self, customer_erp_id: str, segment: str) -> Versioned[CreditLimit]:
        """See `ErpCredit.get_credit_limit`."""
        async with self._capable(ErpCredit) as erp:
            return await erp.get_credit_limit(self._new("party", customer_erp_id), segment)

    async def upsert_credit_limit(
        self, credit_limit: CreditLimit
    ) -> tuple[Versioned[CreditLimit], bool]:
        """See `ErpCredit.upsert_credit_limit`."""
        async with self._capable(ErpCredit) as erp:
            return await erp.upsert_credit_limit(credit_limit)

    async def update_credit_limit(
        self, credit_limit: CreditLimit, *, etag: str
    ) -> Versioned[CreditLimit]:
        """See `ErpCredit.update_credit_limit`."""
        async with self._capable(ErpCredit) as erp:
            return await erp.update_credit_limit(credit_limit, etag=etag)

    async def get_credit_exposure(self, customer_erp_id: str, segment: str) -> CreditExposure:
        """See `ErpCredit.get_credit_exposure`."""
        async with self._capable(ErpCredit) as erp:
            return await erp.get_credit_exposure(self._new("party", customer_erp_id), segment)


def _would_lose(capability: type, serving: ErpPort, candidate: ErpPort) -> bool:
    """Whether ``serving`` offers ``capability`` and ``candidate`` does not."""
    return isinstance(serving, capability) and not isinstance(candidate, capability)
