"""The System layer's cost, and what batching buys.

1. A crm-accounts read through the System API (a `ledgerbridge serve --layer system` process)
   against the same connector call made directly to the CRM sandbox, both timed from this
   process, sequentially: the layer's overhead as a ratio and in milliseconds (p50, p99).
2. 2,000 CRM records written one request each, against the same records through sObject
   Collections (200 per request): the throughput ratio.
3. The same through the System APIs: 2,000 accounts POSTed one request each to crm-accounts
   against one POST /accounts/batch (sObject Collections behind it), and 2,000 customers
   POSTed one each to erp-customers against one POST /customers/batch (OData $batch behind
   it): the throughput ratio of each.

Usage: python bench/system_apis.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from _report import measure, write
from sandboxes import SECRET, _free_port, _process

from ledgerbridge.connectors.salesforce import SalesforceClient


async def _latencies(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    for _ in range(20):  # warm connections and caches
        await call()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def _p99(timings: list[float]) -> float:
    return timings[int(0.99 * (len(timings) - 1))]


async def _read_overhead(crm_url: str, system_url: str, rounds: int) -> list[dict[str, object]]:
    async with (
        SalesforceClient(base_url=crm_url, client_id="ledgerbridge", client_secret=SECRET) as crm,
        httpx.AsyncClient(base_url=system_url) as http,
    ):
        account_id = await crm.create("Account", {"Name": "Bench Capital", "BillingCountry": "DE"})
        path = f"/system/crm-accounts/v1/accounts/{account_id}"
        direct = await _latencies(lambda: crm.get("Account", account_id), rounds)
        through = await _latencies(lambda: http.get(path), rounds)
    return [
        measure(
            "crm-accounts read p50 (via System API)",
            statistics.median(through),
            "ms",
            "connector call, direct",
            statistics.median(direct),
        ),
        measure(
            "crm-accounts read p99 (via System API)",
            _p99(through),
            "ms",
            "connector call, direct",
            _p99(direct),
        ),
        measure(
            "System layer overhead p50",
            statistics.median(through) - statistics.median(direct),
            "ms",
            "connector call p50",
            statistics.median(direct),
        ),
    ]


async def _batching(crm_url: str, records: int) -> list[dict[str, object]]:
    rows = [{"Name": f"Batch {n:05d}", "BillingCountry": "FR"} for n in range(records)]
    async with SalesforceClient(
        base_url=crm_url, client_id="ledgerbridge", client_secret=SECRET
    ) as crm:
        started = time.perf_counter()
        for row in rows:
            await crm.create("Account", row)
        single = records / (time.perf_counter() - started)
        started = time.perf_counter()
        results = await crm.create_many("Account", rows)
        batched = records / (time.perf_counter() - started)
    if not all(result.success for result in results):
        raise RuntimeError("a batched create failed")
    return [
        measure(
            f"{records} creates, sObject Collections (200/request)",
            batched,
            "records/s",
            "one request per record",
            single,
        ),
    ]


def _party(n: int, prefix: str) -> dict[str, object]:
    return {
        "crm_id": f"001{prefix}{n:014d}",
        "erp_id": f"{prefix}{n:06d}",
        "name": f"Batch Capital {prefix}{n:05d}",
        "billing_address": {
            "street": "Taunusanlage 12",
            "city": "Frankfurt",
            "postal_code": "60325",
            "country": "DE",
        },
        "currency": "EUR",
    }


async def _system_batching(system_url: str, records: int) -> list[dict[str, object]]:
    """Writes through the System APIs: one request per record against one batch request."""
    rows = []
    apis = (
        ("crm-accounts", "/system/crm-accounts/v1/accounts", "sObject Collections"),
        ("erp-customers", "/system/erp-customers/v1/customers", "OData $batch"),
    )
    async with httpx.AsyncClient(base_url=system_url, timeout=300) as http:
        for name, path, backend in apis:
            # The batch goes first, into the emptier table; both sandboxes index their upsert
            # keys, so the table's growth adds little to the baseline that follows.
            started = time.perf_counter()
            answer = await http.post(
                f"{path}/batch", json={"records": [_party(n, "B") for n in range(records)]}
            )
            batched = records / (time.perf_counter() - started)
            answer.raise_for_status()
            if answer.json()["written"] != records:
                raise RuntimeError(f"a batched {name} write failed: {answer.text[:300]}")
            started = time.perf_counter()
            for n in range(records):
                (await http.post(path, json=_party(n, "S"))).raise_for_status()
            single = records / (time.perf_counter() - started)
            rows.append(
                measure(
                    f"{records} {name} writes via System API, one batch ({backend})",
                    batched,
                    "records/s",
                    "one System API request per record",
                    single,
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    args = parser.parse_args()
    rounds, records = (200, 300) if args.quick else (2000, 2000)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        crm_port, erp_port, system_port = _free_port(), _free_port(), _free_port()
        crm_url, system_url = f"http://127.0.0.1:{crm_port}", f"http://127.0.0.1:{system_port}"
        erp_url = f"http://127.0.0.1:{erp_port}"
        cli = [sys.executable, "-m", "ledgerbridge"]
        os.environ["LEDGERBRIDGE_SALESFORCE__BASE_URL"] = crm_url
        os.environ["LEDGERBRIDGE_S4HANA__BASE_URL"] = f"{erp_url}/sap/opu/odata/sap"
        os.environ["LEDGERBRIDGE_LOG_LEVEL"] = "WARNING"
        with (
            _process(
                [
                    *cli,
                    "sandbox",
                    "crm",
                    "--port",
                    str(crm_port),
                    "--database",
                    str(tmp / "crm.db"),
                ],
                f"{crm_url}/services/data/",
            ),
            _process(
                [
                    *cli,
                    "sandbox",
                    "erp",
                    "--port",
                    str(erp_port),
                    "--database",
                    str(tmp / "erp.db"),
                ],
                f"{erp_url}/",
            ),
            _process(
                [*cli, "serve", "--layer", "system", "--port", str(system_port)],
                f"{system_url}/system/crm-accounts/v1/healthz",
            ),
        ):
            system_rows = asyncio.run(_system_batching(system_url, records))
            rows = asyncio.run(_read_overhead(crm_url, system_url, rounds))
            rows += asyncio.run(_batching(crm_url, records))
            rows += system_rows
    write("system_apis", rows)


if __name__ == "__main__":
    main()
