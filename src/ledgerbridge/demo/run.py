"""Runs the demo: the backends and every API in one process, N orders through order-to-cash.

The ERP is the S/4HANA sandbox, or a real Tryton (``erp="tryton"``): trytond in a child process
on a copy of the ready template database.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ledgerbridge.apis.experience.customer_portal.client import CustomerPortalClient
from ledgerbridge.apis.process.order_to_cash.client import OrderToCashClient
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.connectors.tryton import TrytonClient
from ledgerbridge.demo.seed import AddProduct, create_order, s4_adder, seed_catalog, tryton_adder
from ledgerbridge.demo.servers import serving
from ledgerbridge.demo.users import demo_redirect_uris, seed_users
from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp
from ledgerbridge.tryton_setup import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    CURRENCY_CODE,
    PRODUCT_CATEGORY_NAME,
    start_ready_server,
)


@dataclass
class DemoResult:
    """What happened to the demo's orders."""

    latencies: list[float] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> int:
        return len(self.latencies)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How big the demo is and where it listens."""

    orders: int = 50
    customers: int = 10
    concurrency: int = 4
    seed: int = 7
    port: int = 8000
    crm_port: int = 8101
    erp_port: int = 8102
    workdir: Path = Path("var/demo")
    erp: Literal["s4hana", "tryton"] = "s4hana"
    tryton_cache: Path = Path("var/tryton")


async def run_demo(options: DemoOptions, *, once: bool, console: Console) -> DemoResult:
    """Start everything, push the orders, print the summary; serve on unless ``once``."""
    shutil.rmtree(options.workdir, ignore_errors=True)
    options.workdir.mkdir(parents=True)
    crm_app = create_crm(database=str(options.workdir / "crm.sqlite3"))
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(serving(crm_app, port=options.crm_port))
        settings = Settings()
        settings.salesforce.base_url = crm_url
        if options.erp == "tryton":
            erp_url = await _start_tryton(options, settings, stack, console)
        else:
            erp_app = create_erp(database=str(options.workdir / "erp.sqlite3"))
            erp_url = await stack.enter_async_context(serving(erp_app, port=options.erp_port))
            settings.s4hana.base_url = f"{erp_url}/sap/opu/odata/sap"
        if "database_url" not in settings.model_fields_set:  # not configured: a fresh demo store
            settings.database_url = (
                f"sqlite+aiosqlite:///{options.workdir / 'ledgerbridge.sqlite3'}"
            )
        if "page_redirect_uris" not in settings.auth.model_fields_set:
            settings.auth.page_redirect_uris = demo_redirect_uris(options.port)
        house = await stack.enter_async_context(open_house(settings))
        house_url = await stack.enter_async_context(serving(house.app, port=options.port))
        console.print(
            f"CRM sandbox {crm_url}  ERP ({options.erp}) {erp_url}  APIs {house_url}  "
            f"store {settings.database_url}"
        )
        result = await _push_orders(options, settings, house_url, console)
        _print_summary(result, options, console)
        async with httpx.AsyncClient(base_url=house_url, timeout=30) as http:
            first = (await CrmAccountsClient(http).list_accounts(limit=1)).items
        if first and first[0].crm_id:
            users = seed_users(house, settings.auth, customer_account=first[0].crm_id)
            console.print(
                f"Pages: {house_url}/experience/web/v1/portal and /console. Users: "
                f"{'; '.join(users)}. Password: settings auth.demo_password "
                "(LEDGERBRIDGE_AUTH__DEMO_PASSWORD; its demo default is in docs/security.md)."
            )
        if not once:
            console.print(
                f"Serving until Ctrl-C. Try: curl {house_url}/experience/customer-portal/v1/"
                "orders/<order id>/status"
            )
            await asyncio.Event().wait()
    return result


async def _start_tryton(
    options: DemoOptions, settings: Settings, stack: contextlib.AsyncExitStack, console: Console
) -> str:
    """Serve a copy of the ready template (built first if missing) and point the settings at it."""

    def progress(done: int, total: int, what: str) -> None:
        console.print(f"tryton template [{done}/{total}] {what}", highlight=False)

    # Building the template runs trytond-admin and its own event loop: off this loop's thread.
    server = await asyncio.to_thread(
        start_ready_server,
        options.tryton_cache,
        options.workdir / "tryton",
        "erp",
        progress=progress,
    )
    stack.callback(server.stop)
    settings.erp = "tryton"
    settings.tryton.base_url = server.base_url
    settings.tryton.database = server.database
    return server.base_url


async def _push_orders(
    options: DemoOptions, settings: Settings, house_url: str, console: Console
) -> DemoResult:
    rng = random.Random(options.seed)
    sf = settings.salesforce
    async with contextlib.AsyncExitStack() as stack:
        crm = await stack.enter_async_context(
            SalesforceClient(
                base_url=sf.base_url,
                client_id=sf.client_id,
                client_secret=sf.client_secret.get_secret_value(),
            )
        )
        add_product, currency = await _erp_catalog(settings, stack)
        catalog = await seed_catalog(
            crm, add_product, customers=options.customers, rng=rng, currency=currency
        )
        order_ids = [await create_order(crm, catalog, rng=rng) for _ in range(options.orders)]
    result = DemoResult()
    limit = asyncio.Semaphore(options.concurrency)
    async with httpx.AsyncClient(base_url=house_url, timeout=30) as http:
        order_to_cash, portal = OrderToCashClient(http), CustomerPortalClient(http)
        with Progress(console=console, transient=False) as progress:
            task = progress.add_task("order-to-cash", total=len(order_ids))

            async def one(order_id: str) -> None:
                async with limit:
                    started = time.perf_counter()
                    try:
                        await order_to_cash.start(order_id)
                        seen = await portal.order_status(order_id)
                        if seen.erp_order_number is None:
                            raise LedgerbridgeError(f"portal shows no ERP order ({seen.status})")
                        result.latencies.append(time.perf_counter() - started)
                    except LedgerbridgeError as exc:
                        result.failures[order_id] = exc.message
                    progress.advance(task)

            await asyncio.gather(*(one(order_id) for order_id in order_ids))
    return result


async def _erp_catalog(
    settings: Settings, stack: contextlib.AsyncExitStack
) -> tuple[AddProduct, str | None]:
    """How the demo adds products to the ERP, and the currency its orders must be in."""
    if settings.erp == "tryton":
        tryton = settings.tryton
        # Products with their accounting category are master data for Tryton's administrator;
        # the integration user may not set the category.
        client = await stack.enter_async_context(
            TrytonClient(
                base_url=tryton.base_url,
                database=tryton.database,
                username=ADMIN_LOGIN,
                password=ADMIN_PASSWORD,
            )
        )
        # The template's company sells in its own currency only.
        return tryton_adder(client, category=PRODUCT_CATEGORY_NAME), CURRENCY_CODE
    s4 = settings.s4hana
    erp = await stack.enter_async_context(
        S4HanaClient(
            base_url=s4.base_url, username=s4.username, password=s4.password.get_secret_value()
        )
    )
    return s4_adder(erp), None


def _print_summary(result: DemoResult, options: DemoOptions, console: Console) -> None:
    table = Table(title="order-to-cash demo")
    for column in ("orders", "succeeded", "failed", "p50 latency", "p95 latency"):
        table.add_column(column, justify="right")
    latencies = sorted(result.latencies)
    p50 = statistics.median(latencies) if latencies else 0.0
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)] if latencies else 0.0
    table.add_row(
        str(options.orders),
        str(result.succeeded),
        str(len(result.failures)),
        f"{p50 * 1000:.1f} ms",
        f"{p95 * 1000:.1f} ms",
    )
    console.print(table)
    for order_id, reason in list(result.failures.items())[:10]:
        console.print(f"[red]{order_id}[/red]: {reason}")
