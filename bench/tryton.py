"""Sales per second into Tryton through our stack, against the same calls made to Tryton directly.

One trytond serves a copy of the ready template (built once into var/tryton, then reused).
Our stack is a `ledgerbridge serve --layer system` process with Tryton behind the ERP port;
this process posts orders to its erp-sales-orders API, one at a time (Tryton takes one writer
at a time, and so does the adapter). The baseline is the sequence of JSON-RPC calls the
adapter makes for one sale, sent straight to trytond through the JSON-RPC client (the ids
the adapter looks up once and keeps are looked up once here too): find the sale by
reference, read the party, find the products, create, quote, confirm, read the sale back.
Rounds alternate between the two so both see the same machine. The figure to quote is our
overhead as a share of a sale's total time through the stack.

Usage: python bench/tryton.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from _report import measure, write
from sandboxes import _free_port, _process
from security import _system as system_command

from ledgerbridge.apis.system._erp.tryton_records import SALE_FIELDS
from ledgerbridge.connectors.tryton import TrytonClient
from ledgerbridge.tryton_setup import (
    INTEGRATION_LOGIN,
    INTEGRATION_PASSWORD,
    TrytonServer,
    start_ready_server,
)

CACHE = Path(__file__).resolve().parents[1] / "var" / "tryton"
SKU, PRICE, CURRENCY = "LB-100", Decimal("199.90"), "USD"
SALES = "/system/erp-sales-orders/v1/sales-orders"


def _order(customer: str) -> dict[str, Any]:
    """One canonical order of two LB-100, as the Process layer would send it."""
    return {
        "crm_id": f"801BENCH{uuid.uuid4().hex[:10].upper()}",
        "customer_erp_id": customer,
        "order_date": date.today().isoformat(),
        "currency": CURRENCY,
        "status": "activated",
        "lines": [
            {
                "line_number": 1,
                "product_sku": SKU,
                "quantity": "2",
                "unit": "EA",
                "unit_price": {"amount": str(PRICE), "currency": CURRENCY},
                "net_amount": {"amount": str(PRICE * 2), "currency": CURRENCY},
            }
        ],
        "net_total": {"amount": str(PRICE * 2), "currency": CURRENCY},
    }


class Direct:
    """The adapter's JSON-RPC calls for one sale, made straight to trytond."""

    def __init__(self, tryton: TrytonClient, party: int) -> None:
        self._tryton = tryton
        self._party = party
        self._fixed: dict[str, Any] = {}

    async def prepare(self) -> None:
        """Look up what the adapter looks up once and keeps: currency, unit, payment term."""
        tryton = self._tryton
        [currency] = await tryton.search("currency.currency", [["code", "=", CURRENCY]], limit=1)
        [product] = await tryton.search_read(
            "product.product", [["code", "=", SKU]], ["default_uom"], limit=1
        )
        [configuration] = await tryton.search_read(
            "account.configuration", [], ["default_customer_payment_term"], limit=1
        )
        term = configuration["default_customer_payment_term"]
        self._fixed = {"currency": currency, "unit": product["default_uom"], "term": term}

    async def sale(self) -> None:
        tryton, fixed = self._tryton, self._fixed
        reference = f"801BENCH{uuid.uuid4().hex[:10].upper()}"
        await tryton.search_read("sale.sale", [["reference", "=", reference]], ["state", "comment"])
        [party] = await tryton.read(
            "party.party", [self._party], ["addresses", "customer_payment_term"]
        )
        [product] = await tryton.search_read("product.product", [["code", "in", [SKU]]], ["code"])
        address = party["addresses"][0]
        line = {
            "type": "line",
            "product": product.id,
            "quantity": 2.0,
            "unit": fixed["unit"],
            "unit_price": PRICE,
        }
        [sale_id] = await tryton.create(
            "sale.sale",
            [
                {
                    "party": self._party,
                    "reference": reference,
                    "sale_date": date.today(),
                    "currency": fixed["currency"],
                    "invoice_address": address,
                    "shipment_address": address,
                    "payment_term": party["customer_payment_term"] or fixed["term"],
                    "lines": [["create", [line]]],
                }
            ],
        )
        await tryton.button("sale.sale", "quote", [sale_id])
        await tryton.button("sale.sale", "confirm", [sale_id])
        await tryton.read("sale.sale", [sale_id], list(SALE_FIELDS))


async def _through_stack(http: httpx.AsyncClient, customer: str, sales: int) -> float:
    started = time.perf_counter()
    for _ in range(sales):
        response = await http.post(SALES, json=_order(customer))
        response.raise_for_status()
    return sales / (time.perf_counter() - started)


async def _direct(direct: Direct, sales: int) -> float:
    started = time.perf_counter()
    for _ in range(sales):
        await direct.sale()
    return sales / (time.perf_counter() - started)


async def _run(server: TrytonServer, system_url: str, rounds: int, sales: int) -> list[float]:
    """Sales per second through the stack and directly, each the median of ``rounds``."""
    async with (
        httpx.AsyncClient(base_url=system_url, timeout=60) as http,
        TrytonClient(
            base_url=server.base_url,
            database=server.database,
            username=INTEGRATION_LOGIN,
            password=INTEGRATION_PASSWORD,
        ) as tryton,
    ):
        party = {
            "crm_id": f"001BENCH{uuid.uuid4().hex[:10].upper()}",
            "name": "Bench Capital",
            "billing_address": {
                "street": "12 Taunusanlage",
                "city": "Frankfurt am Main",
                "postal_code": "60325",
                "country": "DE",
            },
        }
        created = await http.post("/system/erp-customers/v1/customers", json=party)
        created.raise_for_status()
        customer = created.json()["erp_id"]
        direct = Direct(tryton, int(customer))
        await direct.prepare()
        # One of each first: connections, sessions and the adapter's lookups are warm.
        await _through_stack(http, customer, 1)
        await _direct(direct, 1)
        stack, straight = [], []
        for _ in range(rounds):
            stack.append(await _through_stack(http, customer, sales))
            straight.append(await _direct(direct, sales))
    return [statistics.median(stack), statistics.median(straight)]


def _system(port: int, server: TrytonServer, tmp: Path) -> list[str]:
    """The command of the System layer process on Tryton (no CRM is called here)."""
    tryton = {
        "LEDGERBRIDGE_ERP": "tryton",
        "LEDGERBRIDGE_TRYTON__BASE_URL": server.base_url,
        "LEDGERBRIDGE_TRYTON__DATABASE": server.database,
    }
    return system_command(port, "http://127.0.0.1:9", tmp, tryton)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    args = parser.parse_args()
    rounds, sales = (2, 5) if args.quick else (3, 20)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with start_ready_server(CACHE, tmp / "tryton") as server:
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            with _process(_system(port, server, tmp), f"{url}/system/erp-sales-orders/v1/healthz"):
                stack, direct = asyncio.run(_run(server, url, rounds, sales))
    overhead = (1 / stack - 1 / direct) * stack  # (t_stack - t_direct) / t_stack
    rows = [
        measure(
            "sales into Tryton through erp-sales-orders",
            stack,
            "sales/s",
            "direct JSON-RPC",
            direct,
        ),
        measure(
            "our overhead as a share of a sale through the stack",
            overhead * 100,
            "%",
            "the whole sale through the stack",
            100.0,
        ),
    ]
    write("tryton", rows)


if __name__ == "__main__":
    main()
