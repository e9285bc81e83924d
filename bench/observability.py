"""Requests per second of a System API with metrics, tracing and analytics on, against the
same API with them off, in one run.

The CRM sandbox runs as its own process, seeded with one order. Two `ledgerbridge serve
--layer system` processes serve the System APIs: one with every observability switch off
(LEDGERBRIDGE_OBSERVABILITY__*), one with Prometheus metrics, OpenTelemetry tracing (every
span sampled, batched and exported over OTLP/HTTP to a stand-in collector, bench/_bare.py
in its own process) and per-day analytics flushed to SQLite.
Load comes from another process (bench/_load.py) on GET /system/crm-orders/v2/orders/{id},
which reads the order from the CRM. Rounds alternate off and on; each figure is the median.
The bar: at least 85% of the requests per second kept. On a busy shared machine requests per
second swing from round to round, so the CPU time the System process spends per request
(from /proc) is reported beside it: the steadier view of what observability costs.

Usage: python bench/observability.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from _report import measure, write

from ledgerbridge.connectors.salesforce import SalesforceClient

HERE = Path(__file__).parent
SECRET = "sandbox-secret"
CONSUMER = {"X-Consumer-ID": "bench"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _process(
    command: list[str], health_url: str, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(health_url, timeout=1)
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    command = [sys.executable, str(HERE / "_load.py"), url, "--seconds", str(seconds)]
    command += ["--concurrency", str(concurrency)]
    for name, value in CONSUMER.items():
        command += ["--header", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    if result["errors"]:
        raise RuntimeError(f"{url}: {result['errors']} errors under load")
    return {"rps": float(result["rps"]), "requests": float(result["requests"])}


async def _seed_order(crm_url: str) -> str:
    async with SalesforceClient(
        base_url=crm_url, client_id="ledgerbridge", client_secret=SECRET
    ) as crm:
        account = await crm.create("Account", {"Name": "Bench Capital", "CurrencyIsoCode": "EUR"})
        product = await crm.create(
            "Product2",
            {
                "Name": "FX",
                "ProductCode": "FX-1",
                "IsActive": True,
                "QuantityUnitOfMeasure": "Each",
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
            {"OrderId": order, "Product2Id": product, "Quantity": 2, "UnitPrice": "10.00"},
        )
    return order


def _system_env(crm_url: str, otlp_url: str, tmp: Path, *, observed: bool) -> dict[str, str]:
    switch = "true" if observed else "false"
    tracing = {"LEDGERBRIDGE_OBSERVABILITY__OTLP_ENDPOINT": otlp_url} if observed else {}
    return {
        **tracing,
        **os.environ,
        "LEDGERBRIDGE_SALESFORCE__BASE_URL": crm_url,
        "LEDGERBRIDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / f'store-{switch}.sqlite3'}",
        "LEDGERBRIDGE_LOG_LEVEL": "WARNING",
        "LEDGERBRIDGE_OBSERVABILITY__METRICS": switch,
        "LEDGERBRIDGE_OBSERVABILITY__ANALYTICS": switch,
        "LEDGERBRIDGE_OBSERVABILITY__TRACING": switch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    args = parser.parse_args()
    seconds, rounds, concurrency = (2.0, 5, 8) if args.quick else (4.0, 10, 8)
    cli = [sys.executable, "-m", "ledgerbridge"]
    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        crm_port = _free_port()
        crm_url = f"http://127.0.0.1:{crm_port}"
        stack.enter_context(
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
                dict(os.environ),
            )
        )
        order = asyncio.run(_seed_order(crm_url))
        collector_port = _free_port()
        collector_url = f"http://127.0.0.1:{collector_port}"
        (tmp / "empty").write_bytes(b"")
        stack.enter_context(
            _process(
                [
                    *(sys.executable, str(HERE / "_bare.py"), "--port", str(collector_port)),
                    *("--body-file", str(tmp / "empty")),
                ],
                collector_url,
                dict(os.environ),
            )
        )
        urls, pids = {}, {}
        for observed in (False, True):
            port = _free_port()
            base = f"http://127.0.0.1:{port}/system/crm-orders/v2"
            pids[observed] = stack.enter_context(
                _process(
                    [*cli, "serve", "--layer", "system", "--port", str(port)],
                    f"{base}/healthz",
                    _system_env(crm_url, collector_url, tmp, observed=observed),
                )
            ).pid
            urls[observed] = f"{base}/orders/{order}"
        rps: dict[bool, list[float]] = {False: [], True: []}
        cpu_ms: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(rounds):
            for observed in (False, True):
                before = _cpu_seconds(pids[observed])
                result = _load(urls[observed], seconds, concurrency)
                spent = _cpu_seconds(pids[observed]) - before
                rps[observed].append(result["rps"])
                cpu_ms[observed].append(spent * 1000 / result["requests"])
        metrics = httpx.get(urls[True].split("/orders/")[0] + "/metrics").text
        assert 'consumer="bench"' in metrics, "the observed server did not count the load"
    write(
        "observability",
        [
            measure(
                "crm-orders v2 get, metrics + tracing + analytics on",
                statistics.median(rps[True]),
                "requests/s",
                "same API, observability off",
                statistics.median(rps[False]),
            ),
            measure(
                "System process CPU per request, observability on",
                statistics.median(cpu_ms[True]),
                "ms",
                "same API, observability off",
                statistics.median(cpu_ms[False]),
            ),
        ],
    )


if __name__ == "__main__":
    main()
