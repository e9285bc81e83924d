"""ERP cut-over under steady order traffic: from the S/4HANA sandbox to a real Tryton.

The house is embedded and starts on the S/4HANA sandbox. Partners send orders through the
partner Experience API (order-to-cash behind it) before and all through the cut-over, which
an operator starts on backend-health's admin route: the house copies the history to Tryton,
re-points the crosswalk, and its Process layer rewrites every stored reference to an old
S/4HANA number (the CRM orders' ERP_Order_Number__c, the order-to-cash cases) before the ERP
System APIs serve from Tryton, without a restart. No consumer sees an error; afterwards Tryton holds
exactly one sale per CRM order, which the crosswalk, the CRM order and the case all name,
and a case advances on what Tryton does with its sale.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ledgerbridge.apis.experience.partner.client import PARTNER_HEADER
from ledgerbridge.apis.process.account_reconciliation.client import (
    AccountReconciliationClient,
    Difference,
    Entity,
    StartReconciliation,
)
from ledgerbridge.apis.system.backend_health.client import BackendHealthClient
from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.connectors.tryton import TrytonClient
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.runtime.store import Store
from ledgerbridge.runtime.store.schema import crosswalk
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp
from ledgerbridge.tryton_setup import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    TrytonServer,
    start_ready_server,
    tryton_installed,
)

CACHE = Path(__file__).resolve().parents[2] / "var" / "tryton"
ORDERS = "/process/order-to-cash/v1/orders"
PARTNER_ORDERS = "/experience/partner/v1/orders"
PARTNERS = 16
"""Partners sending the traffic in turn: each stays under the partner API's velocity rule."""
SKUS = ("LB-100", "LB-300")
"""Products in the Tryton template, created in the S/4HANA sandbox here."""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tryton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    """trytond serving a fresh copy of the template database, for this module."""
    if not tryton_installed():
        pytest.skip("Tryton is not installed: pip install -e '.[tryton]' to run these tests")
    with start_ready_server(CACHE, tmp_path_factory.mktemp("tryton")) as server:
        yield server


@dataclass
class CutoverHouse:
    """The embedded house on S/4HANA, the CRM behind it, Tryton as its administrator sees it,
    and the house's store."""

    http: httpx.AsyncClient
    crm: SalesforceClient
    tryton: TrytonClient
    store: Store


@pytest.fixture
async def house(tryton_server: TrytonServer, tmp_path: Path) -> AsyncIterator[CutoverHouse]:
    """Every API in this process on the S/4HANA sandbox, with Tryton configured beside it."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp_path / "crm.sqlite3")))
        )
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
        settings = Settings(
            database_url=database_url,
            salesforce={"base_url": crm_url},
            s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap"},
            tryton={"base_url": tryton_server.base_url, "database": tryton_server.database},
        )
        s4 = S4HanaClient(
            base_url=settings.s4hana.base_url,
            username=settings.s4hana.username,
            password=settings.s4hana.password.get_secret_value(),
        )
        stack.push_async_callback(s4.aclose)
        for sku in SKUS:
            await s4.create("API_PRODUCT_SRV", "A_Product", s4_product(sku, f"Product {sku}"))
        built = await stack.enter_async_context(open_house(settings))
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=built.app), base_url="http://h", timeout=120
        )
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        tryton = await stack.enter_async_context(
            TrytonClient(
                base_url=tryton_server.base_url,
                database=tryton_server.database,
                username=ADMIN_LOGIN,
                password=ADMIN_PASSWORD,
                timeout=60,
            )
        )
        store = Store(database_url)
        stack.push_async_callback(store.dispose)
        for client in (http, crm):
            stack.push_async_callback(client.aclose)
        yield CutoverHouse(http=http, crm=crm, tryton=tryton, store=store)


async def _crm_order(crm: SalesforceClient) -> str:
    """A new CRM account with one order of the two shared products; returns the order id."""
    suffix = uuid.uuid4().hex[:6].upper()
    account_id = await crm.create(
        "Account",
        {
            "Name": f"Hanseatic Trust {suffix}",
            "BillingStreet": "3 Neuer Wall",
            "BillingCity": "Hamburg",
            "BillingPostalCode": "20354",
            "BillingCountry": "DE",
            "CurrencyIsoCode": "USD",
        },
    )
    order_id = await crm.create(
        "Order",
        {
            "AccountId": account_id,
            "EffectiveDate": "2026-11-20",
            "Status": "Draft",
            "CurrencyIsoCode": "USD",
            "PoNumber": f"PO-{suffix}",
        },
    )
    for sku, quantity in zip(SKUS, (2, 1), strict=True):
        product_id = await crm.create(
            "Product2",
            {"Name": sku, "ProductCode": sku, "IsActive": True, "QuantityUnitOfMeasure": "Each"},
        )
        await crm.create(
            "OrderItem",
            {"OrderId": order_id, "Product2Id": product_id, "Quantity": quantity, "UnitPrice": 75},
        )
    return order_id


@dataclass
class Traffic:
    """Orders sent by partners through the partner Experience API (which starts
    order-to-cash), one after another, and what each answer was."""

    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, house: CutoverHouse) -> None:
        order_id = await _crm_order(house.crm)
        response = await house.http.post(
            PARTNER_ORDERS,
            json={"crm_order_id": order_id},
            headers={
                PARTNER_HEADER: f"partner-{len(self.answers) % PARTNERS}",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        body = response.json()
        status = body["status"] if response.status_code < 400 else body.get("detail", "")
        self.answers[order_id] = (response.status_code, str(status))
        self.answered.set()

    async def run(self, house: CutoverHouse) -> None:
        while not self.stop.is_set():
            await self.send(house)

    async def until(self, count: int) -> None:
        while len(self.answers) < count:
            self.answered.clear()
            await self.answered.wait()


async def _links(store: Store, entity: str) -> dict[str, str]:
    query = sa.select(crosswalk.c.crm_id, crosswalk.c.erp_id).where(crosswalk.c.entity == entity)
    async with store.engine.connect() as conn:
        return {row.crm_id: row.erp_id for row in await conn.execute(query)}


async def test_cut_over_to_tryton_under_order_traffic(house: CutoverHouse) -> None:
    """Orders flow before, during and after the cut-over and every one succeeds; Tryton then
    holds one sale per CRM order, and the crosswalk names that sale and its customer."""
    traffic = Traffic()
    for _ in range(3):
        await traffic.send(house)
    health = BackendHealthClient(house.http)
    assert (await health.erp_serving()).serving == "s4hana"

    sending = asyncio.create_task(traffic.run(house))
    await traffic.until(5)
    done = await health.cut_over_erp("tryton")
    switched_at = len(traffic.answers)
    await traffic.until(switched_at + 3)
    traffic.stop.set()
    await sending

    assert done.serving == "tryton"
    assert (await health.erp_serving()).serving == "tryton"
    assert done.copied["orders"] >= 5, done.copied
    failed = {o: a for o, a in traffic.answers.items() if a != (202, "in_erp")}
    assert not failed, failed
    # The Process layer rewrote every reference while the switch paused.
    assert done.copied["rewrite_pending"] == 0, done.copied
    assert done.copied["renumbered"] >= done.copied["orders"], done.copied

    orders = await _links(house.store, "order")
    parties = await _links(house.store, "party")
    assert set(orders) == set(traffic.answers)
    for crm_order_id, erp_number in orders.items():
        sales = await house.tryton.search_read(
            "sale.sale", [["reference", "=", crm_order_id]], ["party", "state"]
        )
        assert [str(sale.id) for sale in sales] == [erp_number], crm_order_id
        (sale,) = sales
        assert sale["state"] == "processing", crm_order_id
        crm_order = await house.crm.get("Order", crm_order_id)
        account_id = crm_order.fields["AccountId"]
        assert parties[account_id] == str(sale["party"]), crm_order_id
        assert crm_order.fields["ERP_Order_Number__c"] == erp_number, crm_order_id
        case = await _case(house, crm_order_id)
        assert (case["erp_order_number"], case["customer_erp_id"]) == (
            erp_number,
            parties[account_id],
        ), crm_order_id

    # Account reconciliation, CRM against the ERP serving now, matches every order of the
    # traffic and every account that placed one.
    reconciliation = AccountReconciliationClient(house.http)
    run = await reconciliation.start(
        StartReconciliation(
            entities=[Entity.ACCOUNTS, Entity.ORDERS], repair=False, number_range_tail=0
        )
    )
    assert run.status == "completed", run
    differences = await _differences(reconciliation, run.run_id)
    ours = set(traffic.answers) | set(parties)
    assert not [d for d in differences if d.crm_id in ours], differences
    assert run.summary is not None
    assert run.summary.by_entity["order"].matched >= len(traffic.answers), run.summary
    assert run.summary.by_entity["account"].matched >= len(parties), run.summary

    # The first order, placed on S/4HANA, is billed in Tryton: its case, and no other, moves.
    first = next(iter(traffic.answers))
    (sale,) = await house.tryton.search_read("sale.sale", [["reference", "=", first]], ["invoices"])
    await house.tryton.button("account.invoice", "post", list(sale["invoices"]))
    assert (await _case_until(house, first, "invoice_sent"))["state"] == "invoice_sent"
    others = [await _case(house, order_id) for order_id in traffic.answers if order_id != first]
    assert {case["state"] for case in others} == {"erp_order_created"}


async def _differences(
    reconciliation: AccountReconciliationClient, run_id: str
) -> list[Difference]:
    found: list[Difference] = []
    cursor: str | None = None
    while True:
        page = await reconciliation.list_differences(run_id, limit=100, cursor=cursor)
        found += page.items
        cursor = page.next_cursor
        if cursor is None:
            return found


async def _case(house: CutoverHouse, crm_order_id: str) -> dict[str, Any]:
    response = await house.http.get(f"{ORDERS}/{crm_order_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _case_until(
    house: CutoverHouse, crm_order_id: str, state: str, *, patience: float = 30.0
) -> dict[str, Any]:
    """The order's case once it is in ``state``, or as it stands after ``patience`` seconds."""
    loop = asyncio.get_running_loop()
    until = loop.time() + patience
    case = await _case(house, crm_order_id)
    while case["state"] != state and loop.time() < until:
        await asyncio.sleep(0.5)
        case = await _case(house, crm_order_id)
    return case
