"""The ERP switch and the cut-over between two S/4HANA sandboxes, on SQLite and PostgreSQL.

Both ERPs number sales orders from 1, and the new one holds an order already, so old numbers
are other records' new numbers: the crosswalk, the CRM's ERP id fields and the Process
layer's rows must all end up naming the right ones, and the switch answers old ids until
they do. (tests/e2e/test_erp_cutover.py runs the cut-over to a real Tryton under traffic.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ledgerbridge.apis.process.credit_verification.store import decisions
from ledgerbridge.apis.process.customer_onboarding.store import customers as onboarded
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.erp_renumbering import apply_renumbering, consume_renumbering
from ledgerbridge.apis.process.order_to_cash.renumbering import rewrite_cases
from ledgerbridge.apis.process.order_to_cash.store import cases
from ledgerbridge.apis.system._erp import ErpPort, ErpSwitch, S4HanaErp
from ledgerbridge.apis.system.app import build_system_apis
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.crm_orders.client import CrmOrdersV2Client
from ledgerbridge.canonical import (
    Address,
    CreditLimit,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Party,
)
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.migration.cutover import ErpCutover
from ledgerbridge.runtime.dead_letters import DeadLetterChannel
from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.house import House, layer_http_client
from ledgerbridge.runtime.messaging import InMemoryBus, Message, OutboxRelay, outbox
from ledgerbridge.runtime.store import Store
from ledgerbridge.runtime.store.crosswalk import link
from ledgerbridge.runtime.store.renumbering import TOPIC, RenumberedBatch, is_settled, serving_erp
from ledgerbridge.runtime.store.schema import crosswalk
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

SKU = "LB-100"


@dataclass
class Sandbox:
    """An S/4HANA sandbox over ASGI, its adapter, and the raw client to operate it."""

    erp: S4HanaErp
    admin: httpx.AsyncClient


def _client(host: str, transport: httpx.AsyncBaseTransport | None = None) -> S4HanaClient:
    return S4HanaClient(
        base_url=f"{host}/sap/opu/odata/sap",
        username="LEDGERBRIDGE",
        password="sandbox-secret",
        transport=transport,
    )


@pytest.fixture
async def sandboxes() -> AsyncIterator[tuple[Sandbox, Sandbox]]:
    """The old ERP and the new one, each knowing the product LB-100."""
    made = []
    for _ in range(2):
        app = create_erp()
        client = _client("http://erp.test", httpx.ASGITransport(app=app))
        await client.create("API_PRODUCT_SRV", "A_Product", s4_product(SKU, "Custody"))
        admin = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://erp",
            auth=("LEDGERBRIDGE", "sandbox-secret"),
        )
        made.append(Sandbox(S4HanaErp(client), admin))
    yield made[0], made[1]
    for sandbox in made:
        await sandbox.erp.aclose()
        await sandbox.admin.aclose()


def _party() -> Party:
    return Party(
        crm_id=f"001{uuid.uuid4().hex[:12].upper()}",
        name="Meridian Capital Partners",
        billing_address=Address(
            street="12 Taunusanlage", city="Frankfurt am Main", postal_code="60325", country="DE"
        ),
    )


def _order(customer_erp_id: str) -> Order:
    usd = Money(amount=Decimal("199.90"), currency="USD")
    return Order(
        crm_id=f"801{uuid.uuid4().hex[:12].upper()}",
        customer_erp_id=customer_erp_id,
        order_date=date(2026, 11, 20),
        currency="USD",
        status=OrderStatus.ACTIVATED,
        lines=[
            OrderLine(
                line_number=1,
                product_sku=SKU,
                quantity=Decimal(1),
                unit="EA",
                unit_price=usd,
                net_amount=usd,
            )
        ],
        net_total=usd,
    )


async def _place(switch: ErpSwitch, store: Store) -> tuple[Party, Order, str]:
    """A customer and an order written through the switch and linked, as order-to-cash does."""
    party, _ = await switch.ensure_customer(_party())
    assert party.erp_id is not None
    assert party.crm_id is not None
    order = _order(party.erp_id)
    sales_order, _ = await switch.create_sales_order(order)
    assert sales_order.erp_number is not None
    async with store.engine.begin() as conn:
        await link(conn, "party", crm_id=party.crm_id, erp_id=party.erp_id)
        await link(conn, "order", crm_id=order.crm_id, erp_id=sales_order.erp_number)
    return party, order, sales_order.erp_number


def _cutover(
    store: Store, switch: ErpSwitch, old: ErpPort, new: ErpPort, **tuning: Any
) -> ErpCutover:
    """A cut-over from ``old`` to ``new`` (named "new") on ``switch``, settling at once."""
    return ErpCutover(
        store,
        switch,
        old=old,
        new=new,
        switching=lambda: switch.switching_to(new, name="new"),
        to="new",
        **{"settle_seconds": 0.0, **tuning},
    )


async def _links(store: Store, entity: str) -> dict[str, str]:
    query = sa.select(crosswalk.c.crm_id, crosswalk.c.erp_id).where(crosswalk.c.entity == entity)
    async with store.engine.connect() as conn:
        return {row.crm_id: row.erp_id for row in await conn.execute(query)}


async def test_cut_over_copies_switches_and_repoints_the_crosswalk(
    store: Store, sandboxes: tuple[Sandbox, Sandbox]
) -> None:
    """Every linked customer and order is in the new ERP under the id the crosswalk now names;
    the switch serves from the new ERP, and old customer ids reach it until it settles."""
    old, new = sandboxes
    # The new ERP has an order of its own: its number 1 is not the old ERP's order 1.
    stranger, _ = await new.erp.ensure_customer(_party())
    assert stranger.erp_id is not None
    await new.erp.create_sales_order(_order(stranger.erp_id))
    switch = ErpSwitch(old.erp, name="old")
    placed = [await _place(switch, store) for _ in range(3)]

    cutover = _cutover(store, switch, old.erp, new.erp, rewrite_patience=0)
    report = await cutover.run()

    assert switch.name == "new"
    assert switch.current is new.erp
    assert (report.parties, report.orders, report.repointed) == (3, 3, 6)
    parties, orders = await _links(store, "party"), await _links(store, "order")
    for party, order, old_number in placed:
        assert party.crm_id is not None
        held = await new.erp.get_sales_order(orders[order.crm_id])
        assert (held.external_reference, held.customer_erp_id) == (
            order.crm_id,
            parties[party.crm_id],
        )
        assert orders[order.crm_id] != old_number
        again, created = await new.erp.create_sales_order(order)
        assert (again.erp_number, created) == (orders[order.crm_id], False)
        assert party.erp_id is not None
        assert (await switch.get_customer(party.erp_id)).crm_id == party.crm_id

    await cutover.settle()
    # Nothing has rewritten the references to old ids: the switch still answers them.
    first, _, _ = placed[0]
    assert first.erp_id is not None
    assert (await switch.get_customer(first.erp_id)).crm_id == first.crm_id
    async with store.engine.connect() as conn:
        assert not await is_settled(conn, report.cutover_id or "")


async def test_credit_limits_move_with_their_customers(
    store: Store, sandboxes: tuple[Sandbox, Sandbox]
) -> None:
    """A customer's credit limit in the old ERP is in the new one under its new id, with
    the same segment and amount; a customer without one gets none."""
    old, new = sandboxes
    stranger, _ = await new.erp.ensure_customer(_party())  # new ids differ from old ones
    assert stranger.erp_id is not None
    switch = ErpSwitch(old.erp, name="old")
    (limited, _, _), (unlimited, _, _) = [await _place(switch, store) for _ in range(2)]
    assert limited.erp_id is not None
    assert unlimited.erp_id is not None
    granted = CreditLimit(
        customer_erp_id=limited.erp_id,
        credit_segment="0001",
        limit=Money(amount=Decimal("25000.00"), currency="USD"),
    )
    await old.erp.upsert_credit_limit(granted)

    report = await _cutover(store, switch, old.erp, new.erp, rewrite_patience=0).run()

    assert report.credit_limits == 1
    parties = await _links(store, "party")
    assert limited.crm_id is not None
    assert unlimited.crm_id is not None
    moved = await new.erp.list_credit_limits(
        customer_erp_id=parties[limited.crm_id], blocked=None, offset=0, limit=10
    )
    assert [(c.credit_segment, c.limit) for c in moved] == [("0001", granted.limit)]
    none = await new.erp.list_credit_limits(
        customer_erp_id=parties[unlimited.crm_id], blocked=None, offset=0, limit=10
    )
    assert none == []


async def test_a_cut_over_to_an_erp_that_does_not_answer_switches_nothing(store: Store) -> None:
    """The new ERP is probed first: even with nothing to copy, an ERP that does not answer is
    never switched to, and the old one serves on."""
    empty = S4HanaErp(_client("http://erp.test", httpx.ASGITransport(app=create_erp())))
    unreachable = S4HanaErp(_client("http://127.0.0.1:9"))
    switch = ErpSwitch(empty, name="old")
    cutover = ErpCutover(
        store,
        switch,
        old=empty,
        new=unreachable,
        switching=lambda: switch.switching_to(unreachable, name="new"),
        to="new",
        settle_seconds=0,
    )
    try:
        with pytest.raises(BackendUnavailable):
            await cutover.run()
    finally:
        await unreachable.aclose()
        await empty.aclose()
    assert (switch.name, switch.current) == ("old", empty)


async def test_calls_in_flight_finish_on_the_old_erp_and_later_ones_reach_the_new(
    sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    """The switch waits for a slow call on the old ERP; a call made meanwhile waits, then
    reaches the new ERP."""
    old, new = sandboxes
    old_party, _ = await old.erp.ensure_customer(_party())
    new_party, _ = await new.erp.ensure_customer(_party())
    assert old_party.erp_id is not None
    assert new_party.erp_id is not None
    slow = {"rules": [{"route": "*A_BusinessPartner*", "methods": ["GET"], "latency_ms": 300}]}
    (await old.admin.put("/sandbox/admin/faults", json=slow)).raise_for_status()
    switch = ErpSwitch(old.erp, name="old")
    events: list[str] = []

    async def in_flight() -> None:
        party = await switch.get_customer(old_party.erp_id or "")
        events.append(f"in flight read {party.crm_id}")

    async def meanwhile() -> None:
        party = await switch.get_customer(new_party.erp_id or "")
        events.append(f"meanwhile read {party.crm_id}")

    reading = asyncio.create_task(in_flight())
    await asyncio.sleep(0)  # the read has taken the old ERP
    async with switch.switching_to(new.erp, name="new") as left:
        events.append("switching")
        waiting = asyncio.create_task(meanwhile())
        await asyncio.sleep(0)
        assert left is old.erp
        assert not waiting.done()
    await asyncio.gather(reading, waiting)

    assert events == [
        f"in flight read {old_party.crm_id}",
        "switching",
        f"meanwhile read {new_party.crm_id}",
    ]


async def test_a_call_that_waited_out_the_switch_names_the_order_by_its_new_number(
    sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    """A read by an old number made during the switch reaches the order it meant in the new
    ERP, not the new ERP's order of the same number, and is answered in the old number."""
    old, new = sandboxes
    party, _ = await old.erp.ensure_customer(_party())
    assert party.erp_id is not None
    order = _order(party.erp_id)
    held, _ = await old.erp.create_sales_order(order)
    stranger, _ = await new.erp.ensure_customer(_party())
    assert stranger.erp_id is not None
    await new.erp.create_sales_order(_order(stranger.erp_id))
    copied_party, _ = await new.erp.ensure_customer(party)
    assert copied_party.erp_id is not None
    copied, _ = await new.erp.create_sales_order(
        order.model_copy(update={"customer_erp_id": copied_party.erp_id})
    )
    assert held.erp_number is not None
    assert copied.erp_number is not None
    assert held.erp_number != copied.erp_number
    switch = ErpSwitch(old.erp, name="old")

    async with switch.switching_to(new.erp, name="new"):
        waiting = asyncio.create_task(switch.get_sales_order(held.erp_number))
        await asyncio.sleep(0)
        switch.learn("party", party.erp_id, copied_party.erp_id)
        switch.learn("order", held.erp_number, copied.erp_number)
    read = await waiting

    assert (read.external_reference, read.erp_number, read.customer_erp_id) == (
        order.crm_id,
        held.erp_number,
        party.erp_id,
    )


async def test_an_old_number_equal_to_its_new_one_is_still_answered_in_old_ids(
    sandboxes: tuple[Sandbox, Sandbox],
) -> None:
    """The copy may give an order the number it had: the answer still names the customer by
    its old id, which is what the caller holding the old number knows it by."""
    old, new = sandboxes
    party, _ = await old.erp.ensure_customer(_party())
    assert party.erp_id is not None
    order = _order(party.erp_id)
    held, _ = await old.erp.create_sales_order(order)
    await new.erp.ensure_customer(_party())  # the new ERP's first customer id is taken
    copied_party, _ = await new.erp.ensure_customer(party)
    copied, _ = await new.erp.create_sales_order(
        order.model_copy(update={"customer_erp_id": copied_party.erp_id})
    )
    assert held.erp_number is not None
    assert copied_party.erp_id is not None
    assert copied.erp_number == held.erp_number
    assert copied_party.erp_id != party.erp_id
    switch = ErpSwitch(old.erp, name="old")

    async with switch.switching_to(new.erp, name="new"):
        switch.learn("party", party.erp_id, copied_party.erp_id)
        switch.learn("order", held.erp_number, copied.erp_number)
    read = await switch.get_sales_order(held.erp_number)

    assert (read.erp_number, read.customer_erp_id) == (held.erp_number, party.erp_id)


@dataclass
class CrmSide:
    """The CRM sandbox behind the System APIs over ASGI, and the Process layer's deps."""

    crm: SalesforceClient
    switch: ErpSwitch
    deps: ProcessDeps

    @property
    def orders(self) -> CrmOrdersV2Client:
        return CrmOrdersV2Client(self.deps.system)

    @property
    def accounts(self) -> CrmAccountsClient:
        return CrmAccountsClient(self.deps.system)


@pytest.fixture
async def crm_side(store: Store, sandboxes: tuple[Sandbox, Sandbox]) -> AsyncIterator[CrmSide]:
    """The System APIs on a switch serving the old ERP and a CRM sandbox, both over ASGI; the
    switch follows the store."""
    old, new = sandboxes
    crm = SalesforceClient(
        base_url="http://crm.test",
        client_id="ledgerbridge",
        client_secret="sandbox-secret",
        transport=httpx.ASGITransport(app=create_crm()),
    )
    switch = ErpSwitch(old.erp, name="old")
    adapters: dict[str, ErpPort] = {"old": old.erp, "new": new.erp}
    await switch.attach(store, adapters.__getitem__, refresh_every=0)
    house = House()
    house.mount(build_system_apis(SystemBackends(salesforce=crm, erp=switch)))
    system = layer_http_client(house, None)
    yield CrmSide(crm=crm, switch=switch, deps=ProcessDeps(store=store, system=system))
    await system.aclose()
    await crm.aclose()


async def _placed_in_crm(side: CrmSide, store: Store) -> tuple[str, str, str, str]:
    """A CRM account and order, written to the ERP through the switch, linked in the CRM and
    the crosswalk, with an order-to-cash case and an onboarded customer, as the Process layer
    leaves them; returns (account id, order id, ERP customer id, ERP order number)."""
    account_id = await side.crm.create("Account", {"Name": "Meridian Capital Partners"})
    party, _ = await side.switch.ensure_customer(_party().model_copy(update={"crm_id": account_id}))
    assert party.erp_id is not None
    order = _order(party.erp_id)
    order_id = await side.crm.create(
        "Order", {"AccountId": account_id, "EffectiveDate": "2026-11-20", "Status": "Draft"}
    )
    product_id = await side.crm.create(
        "Product2", {"Name": "Custody", "ProductCode": SKU, "IsActive": True}
    )
    await side.crm.create(
        "OrderItem",
        {"OrderId": order_id, "Product2Id": product_id, "Quantity": 1, "UnitPrice": "199.90"},
    )
    sales_order, _ = await side.switch.create_sales_order(
        order.model_copy(update={"crm_id": order_id})
    )
    assert sales_order.erp_number is not None
    account, etag = await side.accounts.read_account(account_id)
    await side.accounts.update_account(
        account.model_copy(update={"erp_id": party.erp_id}), etag=etag
    )
    await side.orders.link_erp_order(order_id, sales_order.erp_number)
    now = datetime.now(UTC)
    async with store.engine.begin() as conn:
        await link(conn, "party", crm_id=account_id, erp_id=party.erp_id)
        await link(conn, "order", crm_id=order_id, erp_id=sales_order.erp_number)
        await conn.execute(
            cases.insert().values(
                case_id=str(uuid.uuid4()),
                crm_order_id=order_id,
                status="in_erp",
                state="erp_order_created",
                customer_crm_id=account_id,
                customer_erp_id=party.erp_id,
                erp_order_number=sales_order.erp_number,
                created_at=now,
                updated_at=now,
            )
        )
        await conn.execute(
            decisions.insert().values(
                decision_id=str(uuid.uuid4()),
                customer_erp_id=party.erp_id,
                order_id=order_id,
                erp_order_number=sales_order.erp_number,
                verdict="approve",
                amount=Decimal("199.90"),
                currency="USD",
                decided_at=now,
                record={},
            )
        )
        await conn.execute(
            onboarded.insert().values(
                crm_id=account_id, erp_id=party.erp_id, baseline={}, onboarded_at=now, synced_at=now
            )
        )
    return account_id, order_id, party.erp_id, sales_order.erp_number


async def _case_ids(store: Store, order_id: str) -> tuple[str | None, str | None]:
    """The customer id and order number the order's case names, checking its credit decision
    names the same."""
    query = sa.select(cases.c.customer_erp_id, cases.c.erp_order_number).where(
        cases.c.crm_order_id == order_id
    )
    decided = sa.select(decisions.c.customer_erp_id, decisions.c.erp_order_number).where(
        decisions.c.order_id == order_id
    )
    async with store.engine.connect() as conn:
        row = (await conn.execute(query)).one()
        decision = (await conn.execute(decided)).one()
    assert tuple(decision) == tuple(row)
    return row.customer_erp_id, row.erp_order_number


async def _published(store: Store, cutover_id: str) -> list[RenumberedBatch]:
    """The ``erp.renumbered`` events a cut-over wrote to the outbox."""
    query = sa.select(outbox.c.body).where(outbox.c.topic == TOPIC)
    async with store.engine.connect() as conn:
        messages = [
            Message.model_validate_json(body) for body in (await conn.execute(query)).scalars()
        ]
    return [RenumberedBatch.of(m) for m in messages if m.subject == cutover_id]


async def _relay(store: Store, bus: InMemoryBus, stop: asyncio.Event) -> None:
    relay = OutboxRelay(store.engine, bus, poll_interval=0.02)
    while not stop.is_set():
        if await relay.run_once() == 0:
            await asyncio.sleep(0.02)


async def test_after_a_cut_over_the_crm_and_the_process_rows_carry_the_new_ids(
    store: Store, sandboxes: tuple[Sandbox, Sandbox], crm_side: CrmSide
) -> None:
    """While the switch pauses, the Process layer consumes the renumbering and rewrites the
    CRM's ERP id fields and its own rows; the cut-over settles and the switch forgets. A new
    order that the new ERP numbers like an old one is never taken for the old one: a batch
    applied again, even past the inbox, leaves it alone."""
    old, new = sandboxes
    stranger, _ = await new.erp.ensure_customer(_party())
    assert stranger.erp_id is not None
    await new.erp.create_sales_order(_order(stranger.erp_id))
    # Orders no CRM order links (not copied): the old numbers of the linked ones start at 5.
    unlinked, _ = await old.erp.ensure_customer(_party())
    for _ in range(4):
        await old.erp.create_sales_order(_order(unlinked.erp_id or ""))
    placed = [await _placed_in_crm(crm_side, store) for _ in range(3)]
    bus = InMemoryBus(dead_letters=DeadLetterChannel(store.engine))
    await consume_renumbering(bus, crm_side.deps)
    stop = asyncio.Event()
    relaying = asyncio.create_task(_relay(store, bus, stop))
    switch = crm_side.switch
    cutover = _cutover(store, switch, old.erp, new.erp, rewrite_patience=20, batch_size=2)
    try:
        report = await cutover.run()
        await cutover.settle()
    finally:
        stop.set()
        await relaying
        await bus.close()

    assert (report.renumbered, report.rewrite_pending) == (6, 0)
    parties, orders = await _links(store, "party"), await _links(store, "order")
    async with store.engine.connect() as conn:
        assert await is_settled(conn, report.cutover_id or "")
        assert await serving_erp(conn) == "new"
        onboarded_ids = dict(
            (await conn.execute(sa.select(onboarded.c.crm_id, onboarded.c.erp_id))).all()
        )
    for account_id, order_id, _, old_number in placed:
        new_customer, new_number = parties[account_id], orders[order_id]
        assert new_number != old_number
        assert (await crm_side.orders.get_order(order_id)).erp_number == new_number
        assert (await crm_side.accounts.get_account(account_id)).erp_id == new_customer
        assert await _case_ids(store, order_id) == (new_customer, new_number)
        assert onboarded_ids[account_id] == new_customer
        # What the case names is the order it means, in the ERP serving now.
        held = await switch.get_sales_order(new_number)
        assert (held.external_reference, held.customer_erp_id) == (order_id, new_customer)

    # Forgotten. The new ERP numbers a new order like the first old one: its case, its CRM
    # order and the switch name that new order, and the renumbering applied again (the inbox
    # refuses it; run past the inbox it is keyed by CRM id) leaves them so.
    latest = await _placed_in_crm(crm_side, store)
    first_account, first_order, _, first_old_number = placed[0]
    assert latest[3] == first_old_number
    assert (await switch.get_sales_order(first_old_number)).external_reference == latest[1]
    for batch in await _published(store, report.cutover_id or ""):
        assert await apply_renumbering(crm_side.deps, batch) is None
        async with store.engine.begin() as conn:
            await rewrite_cases(conn, batch.items)
    assert await _case_ids(store, latest[1]) == (latest[2], latest[3])
    assert (await crm_side.orders.get_order(latest[1])).erp_number == latest[3]
    assert await _case_ids(store, first_order) == (parties[first_account], orders[first_order])


async def test_a_worker_started_after_a_cut_over_serves_the_new_erp_until_settled_in_old_ids(
    store: Store, sandboxes: tuple[Sandbox, Sandbox], crm_side: CrmSide
) -> None:
    """The store, not one process's memory, keeps which ERP serves and the old ids: a switch
    attached afterwards (another worker, a restart) serves from the new ERP and answers old
    customer ids while the rewrite is pending, and forgets them once it is done."""
    old, new = sandboxes
    stranger, _ = await new.erp.ensure_customer(_party())
    assert stranger.erp_id is not None
    account_id, _, old_customer, _ = await _placed_in_crm(crm_side, store)
    switch = crm_side.switch
    # No Process layer consumes the renumbering yet.
    cutover = _cutover(store, switch, old.erp, new.erp, rewrite_patience=0)
    report = await cutover.run()
    await cutover.settle()
    adapters: dict[str, ErpPort] = {"new": new.erp}
    later = ErpSwitch(old.erp, name="old")
    await later.attach(store, adapters.__getitem__, refresh_every=0)
    assert (later.name, later.current) == ("new", new.erp)
    assert (await later.get_customer(old_customer)).crm_id == account_id

    for batch in await _published(store, report.cutover_id or ""):
        await apply_renumbering(crm_side.deps, batch)
    # Settled: the old id is taken as the new ERP's own, the stranger's.
    assert old_customer == stranger.erp_id
    assert (await later.get_customer(old_customer)).crm_id == stranger.crm_id
    assert (await switch.get_customer(old_customer)).crm_id == stranger.crm_id
