"""One sync run: ERP products and prices made to match in the CRM, compare before write.

The run reads the CRM catalog once (products, the standard price book's entries), then the
ERP's products page by page and its prices valid today, and writes only what differs: a
missing record is created, a different one updated, an equal one left alone. So a second run
over unchanged data writes nothing, and a run that stopped halfway is finished by the next.

The ERP masters the catalog: a product's name, unit and active flag, and its list price per
currency. A CRM price book entry prices one unit, so the ERP price for it is the one valid
today with the latest start, per product and currency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeVar

import structlog

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.product_pricing_sync import store
from ledgerbridge.apis.process.product_pricing_sync.client import (
    SyncCounts,
    SyncFailure,
    SyncRun,
)
from ledgerbridge.apis.system.crm_price_books.client import CrmPriceBooksClient
from ledgerbridge.apis.system.crm_products.client import CrmProductsClient
from ledgerbridge.apis.system.erp_pricing.client import ErpPricingClient
from ledgerbridge.apis.system.erp_products.client import ErpProductsClient
from ledgerbridge.canonical import Price, Product
from ledgerbridge.runtime.errors import Conflict, LedgerbridgeError, NotFound
from ledgerbridge.runtime.paging import MAX_LIMIT, Page

ON_DEMAND = "on_demand"
SCHEDULE = "schedule"
log = structlog.get_logger("ledgerbridge.product_pricing_sync")
ItemT = TypeVar("ItemT")
PriceKey = tuple[str, str]


class SyncBusy(Conflict):
    """Another sync run is running."""


@dataclass
class _Tally:
    products: SyncCounts = field(default_factory=SyncCounts)
    prices: SyncCounts = field(default_factory=SyncCounts)
    failures: list[SyncFailure] = field(default_factory=list)


async def _all(fetch: Callable[[str | None], Awaitable[Page[ItemT]]]) -> list[ItemT]:
    """Every item of a paged list."""
    items: list[ItemT] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


async def get_run(deps: ProcessDeps, run_id: str) -> SyncRun:
    """A run by its id, or NotFound."""
    async with deps.store.engine.connect() as conn:
        run = await store.load_run(conn, run_id)
    if run is None:
        raise NotFound(f"no sync run {run_id}", backend="store", fields=["run_id"])
    return run


async def run_sync(deps: ProcessDeps, *, trigger: str, batch_size: int) -> SyncRun:
    """Run the sync once, recording the run; SyncBusy when a run is running already."""
    async with deps.store.engine.begin() as conn:
        run_id = await store.start_run(conn, trigger)
    if run_id is None:
        raise SyncBusy("a product and pricing sync run is running", backend="store")
    tally = _Tally()
    try:
        await _sync(deps, run_id, tally, batch_size)
    except LedgerbridgeError as exc:
        log.warning("product and pricing sync stopped", run_id=run_id, error=exc.message)
        await _save(deps, run_id, tally, status="failed", error=exc.message)
    else:
        status = "completed_with_failures" if tally.failures else "completed"
        await _save(deps, run_id, tally, status=status)
    return await get_run(deps, run_id)


async def _save(
    deps: ProcessDeps, run_id: str, tally: _Tally, *, status: str, error: str | None = None
) -> None:
    async with deps.store.engine.begin() as conn:
        await store.save_progress(
            conn,
            run_id,
            products=tally.products,
            prices=tally.prices,
            failures=tally.failures,
            status=status,
            error=error,
        )


async def _sync(deps: ProcessDeps, run_id: str, tally: _Tally, batch_size: int) -> None:
    crm_products = CrmProductsClient(deps.system)
    crm_prices = CrmPriceBooksClient(deps.system)
    erp_products = ErpProductsClient(deps.system)
    in_crm: dict[str, Product | None] = {
        p.sku: p
        for p in await _all(lambda c: crm_products.list_products(limit=MAX_LIMIT, cursor=c))
    }
    cursor: str | None = None
    while True:
        page = await erp_products.list_products(limit=batch_size, cursor=cursor)
        await _sync_products(crm_products, page.items, in_crm, tally)
        await _save(deps, run_id, tally, status=store.RUNNING)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    book_id = await _standard_book(crm_prices)
    entries = {
        (p.product_sku, p.unit_price.currency): p
        for p in await _all(
            lambda c: crm_prices.list_prices(price_book_id=book_id, limit=MAX_LIMIT, cursor=c)
        )
    }
    erp_pricing = ErpPricingClient(deps.system)
    today = datetime.now(UTC).date()
    prices = _list_prices(
        await _all(lambda c: erp_pricing.list_prices(valid_on=today, limit=MAX_LIMIT, cursor=c))
    )
    for start in range(0, len(prices), batch_size):
        for price in prices[start : start + batch_size]:
            await _sync_price(crm_prices, price, book_id, in_crm, entries, tally)
        await _save(deps, run_id, tally, status=store.RUNNING)


async def _standard_book(crm_prices: CrmPriceBooksClient) -> str:
    books = await _all(lambda c: crm_prices.list_price_books(limit=MAX_LIMIT, cursor=c))
    for book in books:
        if book.standard and book.crm_id is not None:
            return book.crm_id
    raise NotFound("the CRM has no standard price book", backend="crm-price-books")


def _list_prices(prices: list[Price]) -> list[Price]:
    """Per product and currency, the price with the latest start."""
    chosen: dict[PriceKey, Price] = {}
    for price in prices:
        key = (price.product_sku, price.unit_price.currency)
        held = chosen.get(key)
        if held is None or (price.valid_from or date.min) > (held.valid_from or date.min):
            chosen[key] = price
    return [chosen[key] for key in sorted(chosen)]


def _same_product(crm: Product, erp: Product) -> bool:
    return (crm.name, crm.unit, crm.active) == (erp.name, erp.unit, erp.active)


async def _sync_products(
    crm: CrmProductsClient, page: list[Product], in_crm: dict[str, Product | None], tally: _Tally
) -> None:
    """Make one page of ERP products match in the CRM: the new ones in one batch upsert by
    SKU (a repeat after a lost answer finds them), the changed ones updated one by one."""
    missing: list[Product] = []
    for product in page:
        wanted = product.model_copy(update={"crm_id": None, "erp_id": None, "canonical_id": None})
        current = in_crm.get(product.sku)
        if current is None:
            missing.append(wanted)
        elif _same_product(current, product):
            tally.products.unchanged += 1
        else:
            in_crm[product.sku] = await _update_product(crm, current, wanted, tally)
    if not missing:
        return
    try:
        result = await crm.upsert_products(missing)
    except LedgerbridgeError as exc:
        for product in missing:
            _failed(tally, "product", product.sku, exc.message)
        return
    for product, outcome in zip(missing, result.results, strict=True):
        if outcome.problem is not None or outcome.id is None:
            reason = "refused" if outcome.problem is None else outcome.problem.detail
            _failed(tally, "product", product.sku, reason)
            continue
        in_crm[product.sku] = product.model_copy(update={"crm_id": outcome.id})
        if outcome.created:
            tally.products.created += 1
        else:
            tally.products.updated += 1


async def _update_product(
    crm: CrmProductsClient, current: Product, wanted: Product, tally: _Tally
) -> Product:
    assert current.crm_id is not None
    try:
        _, etag = await crm.read_product(current.crm_id)
        updated = await crm.update_product(
            wanted.model_copy(update={"crm_id": current.crm_id}), etag=etag
        )
    except LedgerbridgeError as exc:
        _failed(tally, "product", wanted.sku, exc.message)
        return current
    tally.products.updated += 1
    return updated


def _failed(tally: _Tally, kind: str, key: str, reason: str) -> None:
    counts = tally.products if kind == "product" else tally.prices
    counts.failed += 1
    tally.failures.append(SyncFailure(kind=kind, key=key, reason=reason))


async def _sync_price(
    crm: CrmPriceBooksClient,
    price: Price,
    book_id: str,
    in_crm: dict[str, Product | None],
    entries: dict[PriceKey, Price],
    tally: _Tally,
) -> None:
    key = (price.product_sku, price.unit_price.currency)
    label = f"{price.product_sku}/{price.unit_price.currency}"
    product = in_crm.get(price.product_sku)
    if product is None or product.crm_id is None:
        _failed(tally, "price", label, "the product is not in the CRM")
        return
    current = entries.get(key)
    wanted = Price(
        price_book_crm_id=book_id,
        product_crm_id=product.crm_id,
        product_sku=price.product_sku,
        unit_price=price.unit_price,
        per_quantity=price.per_quantity,
        active=price.active,
    )
    try:
        if current is None:
            await crm.create_price(wanted)
            tally.prices.created += 1
        elif (current.unit_price.amount, current.active) == (price.unit_price.amount, price.active):
            tally.prices.unchanged += 1
        else:
            assert current.crm_id is not None
            _, etag = await crm.read_price(current.crm_id)
            await crm.update_price(wanted.model_copy(update={"crm_id": current.crm_id}), etag=etag)
            tally.prices.updated += 1
    except LedgerbridgeError as exc:
        _failed(tally, "price", label, exc.message)
