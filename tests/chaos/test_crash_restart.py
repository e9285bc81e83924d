"""The Process layer SIGKILLed at random points and restarted while orders go through
order-to-cash against clean backends: every order ends where it would have without the
crashes, and the ERP holds no duplicate order, invoice or payment.

The Process layer runs as a deployment runs it, two `ledgerbridge` processes on one store:
`serve --layer system --layer process` (the APIs that start cases and apply payments, its
workers off) and `worker` (the relay and the advancer, which resumes what a crash left
half-done). At random moments both are killed with SIGKILL, as one, and started again. The
sandboxes inject no faults: whatever goes wrong is the crash's doing.

The test plays everyone else, each through the Process APIs over HTTP, again until answered:
the CRM client submits the orders; the ERP delivers by itself and the test runs billing; the
customer pays each invoice through cash-application; a credit reviewer rejects some referred
orders. Orders: one in eight has a credit limit below its total (referred), and of those every
second one is rejected by the reviewer; the rest close.

Size: LEDGERBRIDGE_CRASH_ORDERS (default 24; the full run is 200, see docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.chaos.test_order_to_cash_chaos import Planned, _diagnosis, _seed
from tests.chaos.world import WorkerPool, World, open_world
from tests.e2e.conftest import free_port

ORDERS = int(os.environ.get("LEDGERBRIDGE_CRASH_ORDERS", "24"))
O2C = "/process/order-to-cash/v1"
CASH = "/process/cash-application/v1"
REVIEWER = {"actor": "credit-desk@bank.example", "note": "limit too low for this order"}
# A kill lands this long after the Process layer is up again (both processes answering).
KILL_AFTER = (0.3, 2.5)
CLI = [sys.executable, "-m", "ledgerbridge"]
UP_WITHIN = 90.0


@dataclass
class ProcessLayer:
    """The Process layer's two processes, `ledgerbridge serve --layer process` (its APIs,
    workers off) and `ledgerbridge worker`, SIGKILLed and restarted together; both reach
    the System layer over HTTP, at a `serve --layer system` process that is never killed."""

    world: World
    log_dir: Path
    ports: dict[str, int] = field(
        default_factory=lambda: {"system": free_port(), "process": free_port()}
    )
    system: subprocess.Popen[bytes] | None = None
    serve: subprocess.Popen[bytes] | None = None
    workers: WorkerPool | None = None
    kills: int = 0
    down: float = 0.0  # seconds from each start to the layer answering again

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['process']}"

    def _serve(self, layer: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{layer}-{self.kills + 1}.log").open("wb")
        return subprocess.Popen(  # noqa: S603 - our own CLI, arguments built here
            [*CLI, "serve", "--layer", layer, "--port", str(self.ports[layer])],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> None:
        """The System layer once, then the Process layer (again after each kill)."""
        if self.system is None:
            self.system = self._serve("system", self.world.workers.env)
            env = {
                **self.world.workers.env,
                "LEDGERBRIDGE_SYSTEM_URL": f"http://127.0.0.1:{self.ports['system']}",
            }
            self.workers = WorkerPool(env, self.log_dir)
        assert self.workers is not None
        self.serve = self._serve(
            "process", {**self.workers.env, "LEDGERBRIDGE_PROCESS__WORKERS": "false"}
        )
        self.workers.start()

    def kill_and_restart(self) -> None:
        """SIGKILL both Process processes at once (neither finishes anything), start both."""
        assert self.serve is not None
        assert self.workers is not None
        doomed = [self.serve, self.workers.procs.pop()]
        for proc in doomed:
            proc.send_signal(signal.SIGKILL)
        for proc in doomed:
            proc.wait()
        self.kills += 1
        self.start()

    async def wait_up(self) -> None:
        """Until the Process APIs answer and the worker says it runs."""
        assert self.workers is not None
        since = time.monotonic()
        async with httpx.AsyncClient(timeout=1) as client:
            while time.monotonic() < since + UP_WITHIN:
                log = self.log_dir / f"worker-{self.workers.started}.log"
                with contextlib.suppress(httpx.TransportError):
                    answer = await client.get(f"{self.url}{O2C}/healthz")
                    if answer.is_success and "worker running" in log.read_text():
                        self.down += time.monotonic() - since
                        return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"the Process layer did not come up within {UP_WITHIN}s")

    def stop(self) -> list[int]:
        """SIGTERM the worker (it finishes its work and exits 0) and the servers; the
        worker's exit code."""
        assert self.workers is not None
        codes = self.workers.stop()
        self.close()
        return codes

    def close(self) -> None:
        for proc in (self.serve, self.system, *(self.workers.procs if self.workers else [])):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


@dataclass(frozen=True)
class Order:
    """A seeded order and the state it must end in."""

    crm_order_id: str
    expected: str


def _plan(seeded: list[Planned]) -> list[Order]:
    """Clean orders close; of the tight-credit ones, every second is rejected by the
    reviewer and the others stay referred."""
    plan: list[Order] = []
    tight = 0
    for order in seeded:
        if not order.referred:
            plan.append(Order(order.crm_order_id, "closed"))
            continue
        tight += 1
        plan.append(Order(order.crm_order_id, "rejected" if tight % 2 == 0 else "referred"))
    return plan


async def _again(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], done: Any
) -> httpx.Response:
    """POST until ``done(answer)``: a killed process drops the connection or is not
    listening yet, and a restarted one may answer 409 while a dead claim lapses."""
    for _ in range(600):
        with contextlib.suppress(httpx.TransportError):
            answer = await client.post(path, json=body)
            if done(answer):
                return answer
            assert answer.status_code in {409, 500, 502, 503}, (path, answer.text)
        await asyncio.sleep(0.2)
    raise AssertionError(f"{path} {body} got no answer")


async def _submit(client: httpx.AsyncClient, world: World, order: Order) -> None:
    """Start the order's case: again until it exists (a 409 says a crashed start holds it;
    the worker resumes it)."""

    async def exists() -> bool:
        rows = await world.rows(
            "SELECT 1 FROM o2c_case WHERE crm_order_id = :id", id=order.crm_order_id
        )
        return bool(rows)

    for _ in range(600):
        with contextlib.suppress(httpx.TransportError):
            answer = await client.post(f"{O2C}/orders", json={"crm_order_id": order.crm_order_id})
            if answer.is_success:
                return
            assert answer.status_code in {409, 500, 502, 503}, answer.text
        if await exists():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"order {order.crm_order_id} could not be submitted")


async def _pay(client: httpx.AsyncClient, world: World, customer: str, invoice: str) -> None:
    """The customer pays the invoice in full, quoting it; cash-application posts it in the
    ERP. The same payment again until every allocation is posted."""
    document = await world.erp.get("API_BILLING_DOCUMENT_SRV", "A_BillingDocument", invoice)
    body = {
        "payment_reference": f"PAY-{invoice}",
        "customer_erp_id": customer,
        "amount": {"amount": str(document.properties["TotalGrossAmount"]), "currency": "EUR"},
        "payment_date": datetime.now(UTC).date().isoformat(),
        "references": [invoice],
    }

    def posted(answer: httpx.Response) -> bool:
        if not answer.is_success:
            return False
        allocations = answer.json()["allocations"]
        return bool(allocations) and all(part["erp_document"] for part in allocations)

    await _again(client, f"{CASH}/payments", body, posted)


async def _reject(client: httpx.AsyncClient, world: World, crm_order_id: str) -> None:
    """The reviewer rejects the case's credit referral (the same decision again is harmless)."""
    rows = await world.rows(
        "SELECT r.review_id FROM o2c_review r JOIN o2c_case c ON c.case_id = r.case_id "
        "WHERE c.crm_order_id = :id AND r.kind = 'credit'",
        id=crm_order_id,
    )
    assert len(rows) == 1, (crm_order_id, rows)
    await _again(
        client,
        f"{O2C}/reviews/{rows[0].review_id}/rejection",
        REVIEWER,
        lambda answer: answer.is_success,
    )


async def _play_the_others(world: World, layer: ProcessLayer, plan: list[Order]) -> None:
    """Submit every order, then run billing, pay and reject until each case has ended
    where it should (or somewhere it should not) and the outbox is drained."""
    expected = {order.crm_order_id: order.expected for order in plan}
    ends = {"closed", "referred", "rejected", "failed", "cancelled"}
    acted: set[str] = set()
    gate = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=layer.url, timeout=30) as client:

        async def submit(order: Order) -> None:
            async with gate:
                await _submit(client, world, order)

        async def act(case: Any) -> None:
            async with gate:
                if case.state == "invoice_sent":
                    await _pay(client, world, case.customer_erp_id, case.invoice_erp_number)
                else:
                    await _reject(client, world, case.crm_order_id)

        await asyncio.gather(*(submit(order) for order in plan))
        deadline = time.monotonic() + 300 + len(plan) * 5.0
        while True:
            cases = await world.rows(
                "SELECT crm_order_id, state, customer_erp_id, invoice_erp_number FROM o2c_case"
            )
            pending = await world.rows("SELECT 1 FROM outbox WHERE sent_at IS NULL")
            ended = [
                case
                for case in cases
                if case.state == expected[case.crm_order_id] or case.state in ends - {"referred"}
            ]
            if len(ended) == len(plan) and not pending:
                return
            if time.monotonic() > deadline:
                states = Counter(case.state for case in cases)
                late = [case.crm_order_id for case in cases if case not in ended]
                raise AssertionError(
                    f"not ended in time: {states}, outbox {len(pending)}; "
                    f"{await _diagnosis(world, late)}"
                )
            await world.erp_admin.post("/sandbox/admin/billing-run")
            todo = [
                case
                for case in cases
                if case.crm_order_id not in acted
                and (
                    case.state == "invoice_sent"
                    or (case.state == "referred" and expected[case.crm_order_id] == "rejected")
                )
            ]
            await asyncio.gather(*(act(case) for case in todo))
            acted.update(case.crm_order_id for case in todo)
            await asyncio.sleep(0.5)


async def _crash(layer: ProcessLayer, stop: asyncio.Event, rng: random.Random) -> None:
    """Once the layer is up, SIGKILL it after a random while, restart it; until ``stop``."""
    while not stop.is_set():
        await layer.wait_up()
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(*KILL_AFTER))
        except TimeoutError:
            await asyncio.to_thread(layer.kill_and_restart)


async def _count_by(world: World, service: str, entity: str, key: str) -> Counter[str]:
    """How many of ``entity`` the ERP holds per value of ``key``."""
    counts: Counter[str] = Counter()
    skip = 0
    while True:
        page = await world.erp.query(service, entity, select=(key,), top=500, skip=skip)
        counts.update(str(row.properties[key]) for row in page)
        if len(page) < 500:
            return counts
        skip += 500


async def test_every_order_ends_as_without_crashes_and_nothing_is_doubled(
    tmp_path: Path,
) -> None:
    """After random SIGKILLs of the Process layer: no order lost, each in its expected end
    state, one ERP sales order per CRM order, one invoice per closed order, one payment per
    paid invoice, create-sales-order recorded once per case, nothing dead-lettered, the
    outbox drained, and the last processes stopped with SIGTERM exit 0."""
    async with open_world("sqlite-memory", tmp_path) as world:
        clock = time.monotonic()
        plan = _plan(await _seed(world, ORDERS))
        seeded = time.monotonic()
        layer = ProcessLayer(world, tmp_path)
        try:
            layer.start()
            stop = asyncio.Event()
            crasher = asyncio.create_task(_crash(layer, stop, random.Random(13)))
            try:
                await _play_the_others(world, layer, plan)
            finally:
                stop.set()
                await crasher
            ended = time.monotonic()
            await layer.wait_up()
            exit_codes = await asyncio.to_thread(layer.stop)
        finally:
            layer.close()

        cases = {
            row.crm_order_id: row
            for row in await world.rows(
                "SELECT case_id, crm_order_id, state, invoice_erp_number FROM o2c_case"
            )
        }
        lost = [order.crm_order_id for order in plan if order.crm_order_id not in cases]
        wrong = {
            order.crm_order_id: (cases[order.crm_order_id].state, order.expected)
            for order in plan
            if order.crm_order_id in cases and cases[order.crm_order_id].state != order.expected
        }
        sales_orders = await _count_by(
            world, "API_SALES_ORDER_SRV", "A_SalesOrder", "PurchaseOrderByCustomer"
        )
        invoices = await _count_by(
            world, "API_BILLING_DOCUMENT_SRV", "A_BillingDocument", "PurchaseOrderByCustomer"
        )
        payments = await _count_by(
            world, "ZLB_INCOMING_PAYMENT_SRV", "IncomingPayment", "BillingDocument"
        )
        creates = Counter(
            row.case_id
            for row in await world.rows(
                "SELECT case_id FROM o2c_step WHERE name = 'create-sales-order' AND outcome = 'ok'"
            )
        )
        dead_letters = len(await world.rows("SELECT 1 FROM dead_letter"))
        pending = len(await world.rows("SELECT 1 FROM outbox WHERE sent_at IS NULL"))
        duplicates = sum(
            count - 1
            for counts in (sales_orders, invoices, payments)
            for count in counts.values()
            if count > 1
        )
        states = Counter(row.state for row in cases.values())
        figures = {
            "orders": len(plan),
            **{f"  {state}": states[state] for state in ("closed", "referred", "rejected")},
            "process layer killed": layer.kills,
            "ERP sales orders": sum(sales_orders.values()),
            "ERP invoices": sum(invoices.values()),
            "ERP payments": sum(payments.values()),
            "wrong end state": len(wrong),
            "dead letters": dead_letters,
            "outbox pending": pending,
            "duplicates": duplicates,
            "lost": len(lost),
            "seconds seeding": round(seeded - clock, 1),
            "seconds to the end": round(ended - seeded, 1),
            "  of which restarting": round(layer.down, 1),
        }
        print("\ncrash-restart figures")
        for name, value in figures.items():
            print(f"  {name:<22} {value}")

        assert lost == []
        assert wrong == {}
        assert duplicates == 0
        for order in plan:
            case = cases[order.crm_order_id]
            closed = order.expected == "closed"
            assert sales_orders[order.crm_order_id] == 1, order
            assert invoices[order.crm_order_id] == (1 if closed else 0), order
            assert creates[case.case_id] == 1, order
            if closed:
                assert payments[case.invoice_erp_number] == 1, order
        assert sum(payments.values()) == states["closed"]
        assert dead_letters == 0
        assert pending == 0
        assert exit_codes == [0]
        assert layer.kills > 0
