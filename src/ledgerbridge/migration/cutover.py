"""ERP cut-over: move the ERP System APIs from one ERP to another while orders keep coming.

The steps (docs/tryton.md, "Cut-over"):

1. Listen to the switch: every customer and order written to the old ERP from now on is noted.
2. Copy: the products, then each customer and order the crosswalk links, read from the old
   ERP and written to the new one through the same port (writes are idempotent by CRM id).
3. Catch up what the old ERP wrote during the copy, while it still serves.
4. Switch: the switch pauses new calls and lets those in flight finish on the old ERP; what
   they wrote is copied, the switch learns each old id's new one, and the crosswalk is
   re-pointed at the new ids. In the same transaction the store records the cut-over (the
   ERP serving from now on, which every worker and a restarted house follow), the whole
   renumbering (old id -> new id, by CRM id) and its batches as ``erp.renumbered`` events in
   the outbox. While the switch still pauses, the Process layer consumes them and rewrites
   every stored reference (its own rows, the CRM's ERP id fields); then the new ERP serves
   the waiting calls and every one after.
5. Settle: links that requests in flight at the switch record late are re-pointed too; the
   switch forgets the old ids once the store says every batch is rewritten (and not before
   ``settle_seconds``, which requests in flight get), in whichever worker it runs.

This module knows the ERPs only through the protocols below; the composition root hands in
the adapters and the switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.canonical import (
    CreditLimit,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Party,
    Product,
    SalesOrderState,
)
from ledgerbridge.runtime.errors import LedgerbridgeError, NotFound
from ledgerbridge.runtime.store import Store
from ledgerbridge.runtime.store.renumbering import (
    Renumbering,
    is_settled,
    pending_rewrites,
    publish_renumbering,
    record_cutover,
)
from ledgerbridge.runtime.store.schema import crosswalk

log = structlog.get_logger("ledgerbridge.migration.cutover")

PARTY, ORDER = "party", "order"
_PAGE = 100
#: Records per ``erp.renumbered`` event.
RENUMBER_BATCH = 200


class CutoverErp(Protocol):
    """What the cut-over reads from the old ERP and writes to the new one."""

    async def get_customer(self, customer_id: str) -> Party: ...

    async def ensure_customer(self, party: Party) -> tuple[Party, bool]: ...

    async def get_sales_order(self, erp_number: str) -> SalesOrderState: ...

    async def create_sales_order(self, order: Order) -> tuple[SalesOrderState, bool]: ...


@runtime_checkable
class ProductCatalog(Protocol):
    """Products by SKU, where an ERP keeps them."""

    async def list_products(
        self, *, active: bool | None, changed_since: None, offset: int, limit: int
    ) -> list[Product]: ...

    async def upsert_product(self, product: Product) -> tuple[object, bool]: ...


@runtime_checkable
class CreditLimits(Protocol):
    """Credit limits per customer, where an ERP keeps them."""

    async def list_credit_limits(
        self, *, customer_erp_id: str | None, blocked: bool | None, offset: int, limit: int
    ) -> list[CreditLimit]: ...

    async def upsert_credit_limit(self, credit_limit: CreditLimit) -> tuple[object, bool]: ...


class CutoverSwitch(Protocol):
    """The switch the ERP System APIs serve from, as the cut-over drives it."""

    def observe(self, listener: Callable[[str, str, str], None] | None) -> None: ...

    def learn(self, entity: str, old_id: str, new_id: str) -> None: ...

    def forget(self) -> None: ...

    def hand_over(self) -> None: ...


Switching = Callable[[], contextlib.AbstractAsyncContextManager[object]]
"""Pauses the switch until the old ERP has no call in flight; on leaving, the new ERP serves."""


@dataclass(frozen=True, slots=True)
class Link:
    """A record the old ERP holds: its kind, its CRM id and its id in the old ERP."""

    entity: str
    crm_id: str
    erp_id: str


@dataclass
class CutoverReport:
    """What a cut-over copied, caught up and re-pointed."""

    products: int = 0
    parties: int = 0
    credit_limits: int = 0
    orders: int = 0
    caught_up: int = 0
    repointed: int = 0
    renumbered: int = 0
    rewrite_pending: int = 0
    renamed: dict[tuple[str, str], str] = field(default_factory=dict)
    cutover_id: str | None = None

    def counts(self) -> dict[str, int]:
        """The figures, by name."""
        return {
            "products": self.products,
            "parties": self.parties,
            "credit_limits": self.credit_limits,
            "orders": self.orders,
            "caught_up": self.caught_up,
            "repointed": self.repointed,
            "renumbered": self.renumbered,
            "rewrite_pending": self.rewrite_pending,
        }


class ErpCutover:
    """Copies the old ERP's records to the new one and switches the System APIs over.

    Usage::

        cutover = ErpCutover(store, switch, old=s4, new=tryton, to="tryton",
                             switching=lambda: switch.switching_to(tryton, name="tryton"))
        report = await cutover.run()
        await cutover.settle()
    """

    def __init__(
        self,
        store: Store,
        switch: CutoverSwitch,
        *,
        old: CutoverErp,
        new: CutoverErp,
        switching: Switching,
        to: str,
        settle_seconds: float = 30.0,
        rewrite_patience: float = 30.0,
        batch_size: int = RENUMBER_BATCH,
    ) -> None:
        self._store = store
        self._switch = switch
        self._old = old
        self._new = new
        self._switching = switching
        self._to = to
        self._settle_seconds = settle_seconds
        self._rewrite_patience = rewrite_patience
        self._batch_size = batch_size
        self._report = CutoverReport()
        self._party_crm_ids: dict[str, str] = {}
        # (entity, CRM id) -> (old id, new id) of each record copied.
        self._copied: dict[tuple[str, str], tuple[str, str]] = {}
        # CRM order id -> its customer's (old id, new id).
        self._order_customers: dict[str, tuple[str, str]] = {}
        self._taught: set[tuple[str, str]] = set()

    async def run(self) -> CutoverReport:
        """Copy, catch up, switch and re-point; returns what was done.

        Raises:
            LedgerbridgeError: a record could not be copied; the old ERP still serves.
        """
        await self._probe_new()
        written: list[Link] = []
        self._switch.observe(lambda entity, crm, erp: written.append(Link(entity, crm, erp)))
        try:
            await self._copy_products()
            await self._copy(await self._links())
            seen = len(written)
            await self._copy(written[:seen])
            async with self._switching():
                self._switch.observe(None)
                late = written[seen:]
                await self._copy(late)
                self._report.caught_up = len(written)
                self._teach(written)
                await self._await_links(late)
                self._report.repointed = await self._switched()
                # The new ERP serves once every stored reference names its new ids, or
                # after ``rewrite_patience``; the store keeps the translation meanwhile.
                await self._await_rewrite(self._rewrite_patience)
        except BaseException:
            self._switch.forget()  # the old ERP still serves: its ids need no renaming
            raise
        finally:
            self._switch.observe(None)
        log.info(
            "erp cut-over switched", cutover_id=self._report.cutover_id, **self._report.counts()
        )
        return self._report

    async def _probe_new(self) -> None:
        """Fail before anything is copied or switched when the new ERP does not answer."""
        if isinstance(self._new, ProductCatalog):
            await self._new.list_products(active=None, changed_since=None, offset=0, limit=1)
            return
        with contextlib.suppress(NotFound):
            await self._new.get_customer("0")

    def _teach(self, written: Sequence[Link]) -> None:
        """Teach the switch the new id of every customer, and of each order written during
        the cut-over (the ones requests in flight may still name by their old number)."""
        renamed = self._report.renamed
        for (entity, old_id), new_id in renamed.items():
            if entity == PARTY:
                self._switch.learn(entity, old_id, new_id)
                self._taught.add((entity, old_id))
        for link in written:
            if link.entity == ORDER and (ORDER, link.erp_id) in renamed:
                self._switch.learn(ORDER, link.erp_id, renamed[ORDER, link.erp_id])
                self._taught.add((ORDER, link.erp_id))

    def _renumbering(self) -> list[Renumbering]:
        """Every record copied, by CRM id: customers first, then orders with theirs."""
        found = []
        for (entity, crm_id), (old_id, new_id) in sorted(
            self._copied.items(), key=lambda item: (item[0][0] != PARTY, item[0][1])
        ):
            customer = self._order_customers.get(crm_id) if entity == ORDER else None
            found.append(
                Renumbering(
                    entity=entity,
                    crm_id=crm_id,
                    old_id=old_id,
                    new_id=new_id,
                    customer_old_id=customer[0] if customer else None,
                    customer_new_id=customer[1] if customer else None,
                    translate=(entity, old_id) in self._taught,
                )
            )
        return found

    async def _switched(self) -> int:
        """Re-point the crosswalk, record the cut-over with its renumbering and publish the
        renumbering, in one transaction; returns how many links were re-pointed."""
        cutover_id = str(uuid.uuid4())
        renumbering = self._renumbering()
        async with self._store.engine.begin() as conn:
            repointed = await self._repoint_in(conn)
            await record_cutover(
                conn,
                cutover_id,
                erp=self._to,
                renumbered=renumbering,
                batch_size=self._batch_size,
            )
            await publish_renumbering(conn, cutover_id)
        self._report.cutover_id = cutover_id
        self._report.renumbered = len(renumbering)
        return repointed

    async def _await_rewrite(self, patience: float) -> bool:
        """Wait up to ``patience`` seconds for every batch to be rewritten; returns whether
        it was (and notes what is left in the report)."""
        cutover_id = self._report.cutover_id
        assert cutover_id is not None
        loop = asyncio.get_running_loop()
        until = loop.time() + patience
        while True:
            try:
                async with self._store.engine.connect() as conn:
                    pending = await pending_rewrites(conn, cutover_id)
            except Exception:  # the switch is recorded: it must happen, rewritten or not
                log.exception("erp cut-over could not read the rewrite's progress")
                return False
            self._report.rewrite_pending = pending
            if pending == 0 or loop.time() >= until:
                return pending == 0
            await asyncio.sleep(0.05)

    async def settle(self, *, patience: float | None = None) -> int:
        """Re-point links recorded late with old ids for ``settle_seconds``; then, once every
        batch of the renumbering is rewritten, let the switch forget the old ids.

        Waits at most ``patience`` seconds (the cut-over's ``rewrite_patience`` by default)
        for the rewrite: a rewrite still going on keeps the translation in the store, and the
        switch forgets it when the store says the cut-over settled. Returns how many links
        were re-pointed.
        """
        repointed = 0
        loop = asyncio.get_running_loop()
        until = loop.time() + self._settle_seconds
        waited = until + (self._rewrite_patience if patience is None else patience)
        cutover_id = self._report.cutover_id
        while True:
            repointed += await self._repoint()
            async with self._store.engine.connect() as conn:
                settled = cutover_id is None or await is_settled(conn, cutover_id)
            now = loop.time()
            if now >= waited or (now >= until and settled):
                break
            await asyncio.sleep(min(1.0, max(self._settle_seconds, 0.05)))
        if settled:
            self._switch.forget()
        else:
            self._switch.hand_over()
        return repointed

    async def _links(self) -> list[Link]:
        """Every customer and order the crosswalk links to an ERP record."""
        query = sa.select(crosswalk.c.entity, crosswalk.c.crm_id, crosswalk.c.erp_id).where(
            crosswalk.c.entity.in_([PARTY, ORDER]),
            crosswalk.c.crm_id.is_not(None),
            crosswalk.c.erp_id.is_not(None),
        )
        async with self._store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Link(row.entity, row.crm_id, row.erp_id) for row in rows]

    async def _copy_products(self) -> None:
        if not isinstance(self._old, ProductCatalog) or not isinstance(self._new, ProductCatalog):
            return
        offset = 0
        while True:
            page = await self._old.list_products(
                active=None, changed_since=None, offset=offset, limit=_PAGE
            )
            for product in page:
                await self._new.upsert_product(product.model_copy(update={"erp_id": None}))
            self._report.products += len(page)
            if len(page) < _PAGE:
                return
            offset += _PAGE

    async def _copy(self, links: Iterable[Link]) -> None:
        """Copy each linked record not copied yet; customers before the orders that need them."""
        ordered = sorted(links, key=lambda link: link.entity != PARTY)
        for link in ordered:
            if (link.entity, link.erp_id) in self._report.renamed:
                continue
            if link.entity == PARTY:
                await self._copy_party(link.erp_id, crm_id=link.crm_id)
            else:
                await self._copy_order(link)

    async def _copy_party(self, old_id: str, *, crm_id: str | None) -> str:
        renamed = self._report.renamed
        if (PARTY, old_id) in renamed:
            return renamed[PARTY, old_id]
        party = await self._old.get_customer(old_id)
        crm_id = crm_id or party.crm_id
        if crm_id is None:
            raise LedgerbridgeError(f"customer {old_id} of the old ERP names no CRM account")
        copied, _ = await self._new.ensure_customer(
            party.model_copy(update={"crm_id": crm_id, "erp_id": None, "canonical_id": None})
        )
        if copied.erp_id is None:
            raise LedgerbridgeError(f"the new ERP returned no id for customer {crm_id}")
        await self._copy_credit_limits(old_id, copied.erp_id)
        renamed[PARTY, old_id] = copied.erp_id
        self._party_crm_ids[copied.erp_id] = crm_id
        self._copied[PARTY, crm_id] = (old_id, copied.erp_id)
        self._report.parties += 1
        return copied.erp_id

    async def _copy_credit_limits(self, old_id: str, new_id: str) -> None:
        """The customer's credit limits, under its new id, where both ERPs keep them. A limit
        the new ERP cannot hold (another currency, a block) fails the copy: a customer must
        not arrive without the limit its orders are checked against."""
        if not isinstance(self._old, CreditLimits) or not isinstance(self._new, CreditLimits):
            return
        limits = await self._old.list_credit_limits(
            customer_erp_id=old_id, blocked=None, offset=0, limit=_PAGE
        )
        for credit in limits:
            await self._new.upsert_credit_limit(
                credit.model_copy(update={"customer_erp_id": new_id})
            )
        self._report.credit_limits += len(limits)

    async def _copy_order(self, link: Link) -> None:
        held = await self._old.get_sales_order(link.erp_id)
        if held.customer_erp_id is None:
            raise LedgerbridgeError(f"sales order {link.erp_id} of the old ERP has no customer")
        customer = await self._copy_party(held.customer_erp_id, crm_id=None)
        copied, _ = await self._new.create_sales_order(
            order_of(
                held,
                crm_id=link.crm_id,
                customer_crm_id=self._party_crm_ids[customer],
                customer=customer,
            )
        )
        if copied.erp_number is None:
            raise LedgerbridgeError(f"the new ERP returned no number for order {link.crm_id}")
        self._report.renamed[ORDER, link.erp_id] = copied.erp_number
        self._copied[ORDER, link.crm_id] = (link.erp_id, copied.erp_number)
        self._order_customers[link.crm_id] = (held.customer_erp_id, customer)
        self._report.orders += 1

    async def _await_links(self, late: Sequence[Link], *, patience: float = 5.0) -> None:
        """Wait (a while) for the links of what requests in flight wrote to the old ERP.

        Such a request records its link just after its ERP call returns; re-pointing before it
        does could leave it a link to an id the new ERP has given to another record.
        """
        wanted = {(link.entity, link.crm_id) for link in late}
        loop = asyncio.get_running_loop()
        until = loop.time() + patience
        while wanted and loop.time() < until:
            query = sa.select(crosswalk.c.entity, crosswalk.c.crm_id).where(
                sa.tuple_(crosswalk.c.entity, crosswalk.c.crm_id).in_(list(wanted)),
                crosswalk.c.erp_id.is_not(None),
            )
            async with self._store.engine.connect() as conn:
                wanted -= {(row.entity, row.crm_id) for row in await conn.execute(query)}
            if wanted:
                await asyncio.sleep(0.05)

    async def _repoint(self) -> int:
        """Point each copied record's crosswalk link, found by CRM id, from its old id to its
        new one; returns how many moved. A link already moved, or made since by the new ERP,
        is left alone.

        The two ERPs number from the same ranges, so an old id may be another record's new
        id: the rows move to a placeholder first, then to their new ids, in one transaction.
        """
        async with self._store.engine.begin() as conn:
            return await self._repoint_in(conn)

    async def _repoint_in(self, conn: AsyncConnection) -> int:
        copied = self._copied
        rows = (
            await conn.execute(
                sa.select(
                    crosswalk.c.canonical_id,
                    crosswalk.c.entity,
                    crosswalk.c.crm_id,
                    crosswalk.c.erp_id,
                ).where(crosswalk.c.crm_id.in_([crm_id for _, crm_id in copied]))
            )
        ).all()
        moves = {
            row.canonical_id: copied[row.entity, row.crm_id][1]
            for row in rows
            if (row.entity, row.crm_id) in copied
            and copied[row.entity, row.crm_id][0] == row.erp_id
            and copied[row.entity, row.crm_id][1] != row.erp_id
        }
        for canonical_id in moves:
            await conn.execute(
                crosswalk.update()
                .where(crosswalk.c.canonical_id == canonical_id)
                .values(erp_id=f"~{canonical_id}")
            )
        for canonical_id, new_id in moves.items():
            await conn.execute(
                crosswalk.update()
                .where(crosswalk.c.canonical_id == canonical_id)
                .values(erp_id=new_id, updated_at=sa.func.now())
            )
        return len(moves)


def order_of(
    held: SalesOrderState, *, crm_id: str, customer_crm_id: str | None, customer: str
) -> Order:
    """The order to create in the new ERP for a sales order the old ERP holds.

    Raises:
        LedgerbridgeError: the old ERP's order has no items, or an item has no price.
    """
    lines = []
    for number, item in enumerate(held.lines, start=1):
        price = item.unit_price
        if price is None and item.net_amount is not None:
            price = Money(amount=item.net_amount.amount / item.quantity, currency=held.currency)
        if price is None:
            raise LedgerbridgeError(f"item {item.item_number} of {held.erp_number} has no price")
        lines.append(
            OrderLine(
                line_number=number,
                product_sku=item.product_sku,
                description=item.description,
                quantity=item.quantity,
                unit=item.unit,
                unit_price=price,
                net_amount=Money(amount=price.amount * item.quantity, currency=price.currency),
            )
        )
    if not lines:
        raise LedgerbridgeError(f"sales order {held.erp_number} of the old ERP has no items")
    return Order(
        crm_id=crm_id,
        customer_crm_id=customer_crm_id,
        customer_erp_id=customer,
        order_date=held.order_date or datetime.now(UTC).date(),
        currency=held.currency,
        status=OrderStatus.ACTIVATED,
        po_number=held.po_number,
        lines=lines,
        net_total=Money.total((line.net_amount for line in lines), held.currency),
    )


__all__ = ["CutoverErp", "CutoverReport", "CutoverSwitch", "ErpCutover", "Link", "order_of"]
