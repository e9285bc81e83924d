"""Orders per second through the whole order-to-cash saga, and where each order's time goes,
against the same orders handled by the direct backend calls alone, in one run.

The CRM and ERP sandboxes run each in its own process (no latency, no faults; the ERP
delivers an order as soon as it is created), wrapped in an ASGI timer that adds up the time
spent handling each request, by the `x-bench-tag` header the caller sets (none: the saga's own
calls). The house (System and Process layers, embedded, with its workers: the relay and the
advancer, polling every 50 ms) serves over HTTP on a local port. A second process drives:

- **saga**: an order activated in the CRM is started through `POST /orders`; the driver plays
  the ERP's and the customer's part (the billing run once the order is accepted, the payment
  of the invoice once it is sent, both tagged `driver`) and reads the case until it is closed;
- **direct** (the baseline): the same kind of order taken through the backend calls a
  hand-written integration would make, issued with the connectors (read the order, its lines
  and its account; create the ERP customer and the sales order; write the ERP number back to
  the CRM; find the invoice; see it cleared), with the same billing run and payment.

Measured: each flow one order at a time (time per order, and how much of it the sandboxes
spent handling the flow's requests: the share waiting on the backends; the rest is our code,
the advancer's polling interval and the driver's part), then many orders with several in
flight (orders per second). The ratio saga / direct is the figure to quote.

Usage: python bench/order_to_cash.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from _report import measure, write

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.logging import configure_logging
from ledgerbridge.runtime.settings import Settings

HERE = Path(__file__)
USER, SECRET, CLIENT = "LEDGERBRIDGE", "sandbox-secret", "ledgerbridge"
O2C = "/process/order-to-cash/v1"
ODATA = "/sap/opu/odata/sap"
BUSY = "/__bench/busy"
POLL = 0.02  # how often the driver reads a case or an invoice while it waits
STUCK = 30.0  # an order not done by then is reported, not waited for


# --- the sandboxes, each in its own process, timing what they handle ---------------------


class Busy:
    """ASGI middleware: seconds spent handling requests and their count, per `x-bench-tag`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.requests: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == BUSY:
            body = json.dumps({"seconds": self.seconds, "requests": self.requests}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        tag = dict(scope["headers"]).get(b"x-bench-tag", b"saga").decode()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.seconds[tag] += time.perf_counter() - started
            self.requests[tag] += 1


def run_sandbox(which: str, port: int, database: str) -> None:
    import uvicorn

    if which == "crm":
        from ledgerbridge.sandboxes.crm.app import create_app as create_crm

        app = create_crm(database=database)
    else:
        from ledgerbridge.sandboxes.erp.app import create_app as create_erp

        app = create_erp(database=database, delivery_delay=0)
    uvicorn.run(Busy(app), host="127.0.0.1", port=port, log_level="warning")


@contextlib.contextmanager
def sandboxes(tmp: Path) -> Iterator[dict[str, str]]:
    """Both sandboxes as processes; their base URLs once they answer."""
    urls: dict[str, str] = {}
    procs = []
    try:
        for which in ("crm", "erp"):
            port = _free_port()
            command = [sys.executable, str(HERE), "--sandbox", which, str(port)]
            command.append(str(tmp / f"{which}.sqlite3"))
            procs.append(subprocess.Popen(command))
            urls[which] = f"http://127.0.0.1:{port}"
        for url in urls.values():
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url + BUSY, timeout=1).is_success:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} did not answer")
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the driver: its own process ---------------------------------------------------------


class Tagged(httpx.AsyncBaseTransport):
    """Marks every request with ``x-bench-tag`` so the sandboxes count it apart."""

    def __init__(self, tag: str) -> None:
        self._tag = tag
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["x-bench-tag"] = self._tag
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Driver:
    """Seeds orders and takes them through the saga or the direct calls."""

    def __init__(self, house: str, crm_url: str, erp_url: str) -> None:
        self.urls = {"crm": crm_url, "erp": erp_url}
        self.house = httpx.AsyncClient(base_url=house, timeout=60)
        self.admin = httpx.AsyncClient(
            base_url=erp_url, auth=(USER, SECRET), timeout=60, transport=Tagged("driver")
        )
        self.crm = {tag: self._crm(crm_url, tag) for tag in ("driver", "direct")}
        self.erp = {tag: self._erp(erp_url, tag) for tag in ("driver", "direct")}
        self.product = ""
        self.starts: list[float] = []  # seconds from activation to the ERP order linked
        self._billing = asyncio.Lock()

    @staticmethod
    def _crm(url: str, tag: str) -> SalesforceClient:
        return SalesforceClient(
            base_url=url, client_id=CLIENT, client_secret=SECRET, transport=Tagged(tag)
        )

    @staticmethod
    def _erp(url: str, tag: str) -> S4HanaClient:
        return S4HanaClient(
            base_url=url + ODATA, username=USER, password=SECRET, transport=Tagged(tag)
        )

    async def aclose(self) -> None:
        for client in (self.house, self.admin, *self.crm.values(), *self.erp.values()):
            await client.aclose()

    async def busy(self) -> dict[str, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as client:
            return {
                which: (await client.get(url + BUSY)).json() for which, url in self.urls.items()
            }

    async def setup(self) -> None:
        code = f"O2C-{uuid.uuid4().hex[:8].upper()}"
        await self.erp["driver"].create(
            "API_PRODUCT_SRV", "A_Product", s4_product(code, "Custody account")
        )
        self.product = await self.crm["driver"].create(
            "Product2", {"Name": "Custody account", "ProductCode": code, "IsActive": True}
        )
        self.code = code

    async def seed(self, count: int) -> list[str]:
        """Draft orders in the CRM, each with its own account; activated when measured."""
        gate = asyncio.Semaphore(8)
        crm = self.crm["driver"]

        async def one(index: int) -> str:
            async with gate:
                account = await crm.create(
                    "Account",
                    {
                        "Name": f"Bench Client {index}",
                        "BillingStreet": f"{index} Harbour Street",
                        "BillingCity": "Hamburg",
                        "BillingPostalCode": "20457",
                        "BillingCountry": "DE",
                        "CurrencyIsoCode": "EUR",
                    },
                )
                order = await crm.create(
                    "Order",
                    {
                        "AccountId": account,
                        "EffectiveDate": "2026-11-20",
                        "Status": "Draft",
                        "CurrencyIsoCode": "EUR",
                    },
                )
                await crm.create(
                    "OrderItem",
                    {
                        "OrderId": order,
                        "Product2Id": self.product,
                        "Quantity": 2,
                        "UnitPrice": "150.00",
                    },
                )
                return order

        return list(await asyncio.gather(*(one(i) for i in range(count))))

    async def bill(self) -> None:
        """The ERP's billing run (one at a time, as the ERP runs it)."""
        async with self._billing:
            (await self.admin.post("/sandbox/admin/billing-run")).raise_for_status()

    async def pay(self, customer: str, invoice: str, amount: str) -> None:
        """The customer's payment of the invoice in full."""
        await self.erp["driver"].create(
            "ZLB_INCOMING_PAYMENT_SRV",
            "IncomingPayment",
            {
                "Customer": customer,
                "AmountInTransactionCurrency": amount,
                "BillingDocument": invoice,
                "PaymentReference": f"PAY-{invoice}",
            },
        )

    async def saga(self, order: str) -> float:
        """Activate, start the case, bill and pay when it is time; seconds until closed."""
        await self.crm["driver"].update("Order", order, {"Status": "Activated"})
        started = time.perf_counter()
        answer = await self.house.post(f"{O2C}/orders", json={"crm_order_id": order})
        answer.raise_for_status()
        self.starts.append(time.perf_counter() - started)
        paid = False
        case = answer.json()
        while case["state"] != "closed":
            if time.perf_counter() - started > STUCK:
                raise RuntimeError(f"order {order} still {case['state']} after {STUCK} s")
            if case["state"] in {"failed", "referred", "cancelled", "rejected"}:
                raise RuntimeError(f"order {order} ended {case['state']}")
            if case["state"] in {"erp_order_created", "fulfilled"}:
                await self.bill()  # again until the ERP has delivered the order and bills it
                await asyncio.sleep(POLL)
            elif not paid and case["state"] == "invoice_sent":
                invoice = await self.erp["driver"].get(
                    "API_BILLING_DOCUMENT_SRV", "A_BillingDocument", case["invoice_erp_number"]
                )
                await self.pay(
                    case["customer_erp_id"],
                    case["invoice_erp_number"],
                    str(invoice.properties["TotalGrossAmount"]),
                )
                paid = True
            else:
                await asyncio.sleep(POLL)
            case = (await self.house.get(f"{O2C}/orders/{order}")).raise_for_status().json()
        return time.perf_counter() - started

    async def direct(self, order_id: str) -> float:
        """The same order through the direct backend calls; seconds until its invoice is
        seen cleared."""
        crm, erp = self.crm["direct"], self.erp["direct"]
        await self.crm["driver"].update("Order", order_id, {"Status": "Activated"})
        started = time.perf_counter()
        order = await crm.get("Order", order_id)
        lines = await crm.query(
            f"SELECT Id, Quantity, UnitPrice FROM OrderItem WHERE OrderId = '{order_id}'"
        )
        account = await crm.get("Account", str(order.fields["AccountId"]))
        partner = await erp.create(
            "API_BUSINESS_PARTNER",
            "A_BusinessPartner",
            {
                "BusinessPartnerCategory": "2",
                "OrganizationBPName1": str(account.fields["Name"]),
                "BusinessPartnerIDByExtSystem": account.id[:20],
                "to_Customer": {"CustomerName": str(account.fields["Name"])},
            },
        )
        customer = str(partner.properties["BusinessPartner"])
        items = [
            {
                "Material": self.code,
                "RequestedQuantity": str(line.fields["Quantity"]),
                "to_PricingElement": [
                    {"ConditionType": "PR00", "ConditionRateValue": str(line.fields["UnitPrice"])}
                ],
            }
            for line in lines
        ]
        sales_order = await erp.create(
            "API_SALES_ORDER_SRV",
            "A_SalesOrder",
            {
                "SalesOrderType": "OR",
                "SalesOrganization": "1010",
                "DistributionChannel": "10",
                "OrganizationDivision": "00",
                "SoldToParty": customer,
                "PurchaseOrderByCustomer": order_id,
                "TransactionCurrency": "EUR",
                "to_Item": items,
            },
        )
        number = str(sales_order.properties["SalesOrder"])
        await crm.update("Order", order_id, {"ERP_Order_Number__c": number})
        self.starts.append(time.perf_counter() - started)
        invoice = await self._invoice(order_id, cleared=False)
        await self.pay(
            customer,
            str(invoice.properties["BillingDocument"]),
            str(invoice.properties["TotalGrossAmount"]),
        )
        await self._invoice(order_id, cleared=True)
        return time.perf_counter() - started

    async def _invoice(self, order_id: str, *, cleared: bool) -> Any:
        """The order's invoice, read until it is there (and cleared, when asked)."""
        started = time.perf_counter()
        while True:
            found = await self.erp["direct"].query(
                "API_BILLING_DOCUMENT_SRV",
                "A_BillingDocument",
                filter=f"PurchaseOrderByCustomer eq '{order_id}'",
            )
            if found and (not cleared or found[0].properties.get("InvoiceClearingStatus") == "C"):
                return found[0]
            if time.perf_counter() - started > STUCK:
                raise RuntimeError(f"the invoice of {order_id} not seen (cleared: {cleared})")
            if not found:
                await self.bill()  # again until the ERP has delivered the order and bills it
            await asyncio.sleep(POLL)


def _delta(before: dict[str, Any], after: dict[str, Any], tag: str) -> tuple[float, int]:
    seconds = sum(
        after[w]["seconds"].get(tag, 0.0) - before[w]["seconds"].get(tag, 0.0) for w in after
    )
    requests = sum(
        after[w]["requests"].get(tag, 0) - before[w]["requests"].get(tag, 0) for w in after
    )
    return seconds, requests


async def _one_at_a_time(
    driver: Driver, flow: Callable[[str], Awaitable[float]], tag: str, orders: list[str]
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = defaultdict(list)
    for order in orders:
        before = await driver.busy()
        wall = await flow(order)
        after = await driver.busy()
        timings["start"].append(driver.starts[-1] * 1000)
        backend, requests = _delta(before, after, tag)
        driver_part, _ = _delta(before, after, "driver")
        timings["wall"].append(wall * 1000)
        timings["backend"].append(backend * 1000)
        timings["driver"].append(driver_part * 1000)
        timings["requests"].append(float(requests))
    return timings


async def _in_flight(
    flow: Callable[[str], Awaitable[float]], orders: list[str], concurrency: int
) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(order: str) -> None:
        async with gate:
            await flow(order)

    started = time.perf_counter()
    await asyncio.gather(*(one(order) for order in orders))
    return len(orders) / (time.perf_counter() - started)


async def drive(house: str, crm: str, erp: str, sequential: int, many: int, flight: int) -> None:
    """The load process: both flows one order at a time, then many in flight; JSON out."""
    driver = Driver(house, crm, erp)
    try:
        await driver.setup()
        orders = await driver.seed(2 * (sequential + many) + 2)
        # Warm-up: one order of each flow (connections, caches, first advancer rounds).
        await driver.saga(orders.pop())
        await driver.direct(orders.pop())
        result: dict[str, Any] = {}
        for _ in range(2):  # alternate, so neither flow has the quieter machine to itself
            for name, flow in (("saga", driver.saga), ("direct", driver.direct)):
                batch = [orders.pop() for _ in range(sequential // 2)]
                timings = await _one_at_a_time(driver, flow, name, batch)
                for key, values in timings.items():
                    result.setdefault(name, {}).setdefault(key, []).extend(values)
        for name, flow in (("saga", driver.saga), ("direct", driver.direct)):
            batch = [orders.pop() for _ in range(many)]
            result[name]["rate"] = await _in_flight(flow, batch, flight)
    finally:
        await driver.aclose()
    print(json.dumps(result))


# --- the run --------------------------------------------------------------------------------


async def main(quick: bool) -> None:
    sequential, many, flight = (4, 8, 4) if quick else (40, 120, 8)
    configure_logging(level="WARNING")
    with tempfile.TemporaryDirectory() as tmp, sandboxes(Path(tmp)) as urls:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'store.sqlite3'}",
            salesforce={"base_url": urls["crm"]},
            s4hana={"base_url": urls["erp"] + ODATA},
            # Cases start through POST /orders, as the direct flow starts by its first call.
            process={
                "advance_interval": 0.05,
                "relay_interval": 0.05,
                "retry_after_seconds": 1,
                "crm_changes": False,
            },
            observability={"metrics": False},
        )
        async with contextlib.AsyncExitStack() as stack:
            house = await stack.enter_async_context(
                open_house(settings, layers={Layer.SYSTEM, Layer.PROCESS})
            )
            url = await stack.enter_async_context(serving(house.app))
            driver = await asyncio.create_subprocess_exec(
                sys.executable,
                str(HERE),
                "--drive",
                url,
                urls["crm"],
                urls["erp"],
                str(sequential),
                str(many),
                str(flight),
                stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await driver.communicate()
            if driver.returncode != 0:
                raise RuntimeError(f"the driver failed with {driver.returncode}")
    write("order_to_cash", _rows(json.loads(out), flight))


def _rows(result: dict[str, Any], flight: int) -> list[dict[str, Any]]:
    saga, direct = result["saga"], result["direct"]
    wall = statistics.median(saga["wall"])
    backend = statistics.median(saga["backend"])
    driver = statistics.median(saga["driver"])
    ours = statistics.median(
        w - b - d for w, b, d in zip(saga["wall"], saga["backend"], saga["driver"], strict=True)
    )
    return [
        measure(
            f"orders/s through the saga, {flight} in flight",
            saga["rate"],
            "orders/s",
            f"the same orders by direct backend calls, {flight} in flight",
            direct["rate"],
        ),
        measure(
            "activated to closed per order, p50",
            wall,
            "ms",
            "the same by direct backend calls, p50",
            statistics.median(direct["wall"]),
        ),
        measure(
            "start request (POST /orders: customer, ERP order, credit, CRM link), p50",
            statistics.median(saga["start"]),
            "ms",
            "the same steps by direct backend calls, p50",
            statistics.median(direct["start"]),
        ),
        measure(
            "backends handling the saga's calls per order, p50",
            backend,
            "ms",
            "activated to closed per order, p50 (ratio: share waiting on backends)",
            wall,
        ),
        measure(
            "our code and polling per order, p50",
            ours,
            "ms",
            "activated to closed per order, p50 (ratio: share in our code)",
            wall,
        ),
        measure(
            "the ERP's and customer's part per order (billing run, payment), p50",
            driver,
            "ms",
            "activated to closed per order, p50",
            wall,
        ),
        measure(
            "backends handling the saga's calls per order, p50",
            backend,
            "ms",
            "backends handling the direct calls per order, p50",
            statistics.median(direct["backend"]),
        ),
        measure(
            "backend requests per order, saga",
            statistics.median(saga["requests"]),
            "requests",
            "backend requests per order, direct",
            statistics.median(direct["requests"]),
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--sandbox":
        run_sandbox(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 8 and sys.argv[1] == "--drive":
        asyncio.run(drive(*sys.argv[2:5], *(int(n) for n in sys.argv[5:8])))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--quick", action="store_true", help="a run under a minute")
        asyncio.run(main(parser.parse_args().quick))
