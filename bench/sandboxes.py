"""Requests per second of each sandbox, against a bare ASGI endpoint serving the same JSON.

Each sandbox runs as its own `ledgerbridge sandbox` process, the baseline as its own uvicorn
process, and the load comes from a third process (bench/_load.py). Measures: a get by id and
a filtered query, on the CRM and on the ERP.

Usage: python bench/sandboxes.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
from _report import measure, write

from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient

HERE = Path(__file__).parent
SECRET = "sandbox-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _process(command: list[str], health_url: str) -> Iterator[None]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(health_url, timeout=1)
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _load(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict[str, float]:
    command = [
        sys.executable,
        str(HERE / "_load.py"),
        url,
        "--seconds",
        str(seconds),
        "--concurrency",
        str(concurrency),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the load generator failed on {url}:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout)
    if result["errors"]:
        raise RuntimeError(f"{url}: {result['errors']} errors under load")
    return result


def _against_bare(
    name: str, url: str, headers: dict[str, str], seconds: float, concurrency: int, tmp: Path
) -> dict[str, object]:
    body = httpx.get(url, headers=headers).content
    body_file = tmp / f"{name}.json"
    body_file.write_bytes(body)
    port = _free_port()
    bare = [
        sys.executable,
        str(HERE / "_bare.py"),
        "--port",
        str(port),
        "--body-file",
        str(body_file),
    ]
    with _process(bare, f"http://127.0.0.1:{port}/"):
        baseline = _load(f"http://127.0.0.1:{port}/", {}, seconds, concurrency)
    sandbox = _load(url, headers, seconds, concurrency)
    return measure(
        name, sandbox["rps"], "requests/s", "bare ASGI endpoint, same JSON", baseline["rps"]
    )


async def _seed_crm(url: str, accounts: int) -> tuple[str, str]:
    async with SalesforceClient(
        base_url=url, client_id="ledgerbridge", client_secret=SECRET
    ) as crm:
        ids = [
            await crm.create(
                "Account", {"Name": f"Account {n:05d}", "BillingCountry": "DE" if n % 4 else "FR"}
            )
            for n in range(accounts)
        ]
    form = {
        "grant_type": "client_credentials",
        "client_id": "ledgerbridge",
        "client_secret": SECRET,
    }
    async with httpx.AsyncClient() as http:
        token = (await http.post(f"{url}/services/oauth2/token", data=form)).json()["access_token"]
    return ids[len(ids) // 2], token


async def _seed_erp(url: str, partners: int) -> str:
    root = f"{url}/sap/opu/odata/sap"
    async with S4HanaClient(base_url=root, username="LEDGERBRIDGE", password=SECRET) as erp:
        created = [
            await erp.create(
                "API_BUSINESS_PARTNER",
                "A_BusinessPartner",
                {
                    "BusinessPartnerCategory": "2",
                    "OrganizationBPName1": f"Partner {n:05d}",
                    "SearchTerm1": "NORTH" if n % 4 else "SOUTH",
                },
            )
            for n in range(partners)
        ]
    return str(created[len(created) // 2].properties["BusinessPartner"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    args = parser.parse_args()
    seconds, records, concurrency = (2.0, 200, 8) if args.quick else (8.0, 2000, 16)
    cli = [sys.executable, "-m", "ledgerbridge", "sandbox"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        crm_port, erp_port = _free_port(), _free_port()
        crm_url, erp_url = f"http://127.0.0.1:{crm_port}", f"http://127.0.0.1:{erp_port}"
        with _process(
            [*cli, "crm", "--port", str(crm_port), "--database", str(tmp / "crm.db")],
            f"{crm_url}/services/data/",
        ):
            account_id, token = asyncio.run(_seed_crm(crm_url, records))
            auth = {"Authorization": f"Bearer {token}"}
            base = f"{crm_url}/services/data/v59.0"
            soql = "SELECT Id, Name FROM Account WHERE BillingCountry = 'FR' ORDER BY Name LIMIT 20"
            rows.append(
                _against_bare(
                    "crm get by id",
                    f"{base}/sobjects/Account/{account_id}",
                    auth,
                    seconds,
                    concurrency,
                    tmp,
                )
            )
            rows.append(
                _against_bare(
                    "crm filtered query",
                    f"{base}/query?q={quote(soql)}",
                    auth,
                    seconds,
                    concurrency,
                    tmp,
                )
            )
        with _process(
            [*cli, "erp", "--port", str(erp_port), "--database", str(tmp / "erp.db")],
            f"{erp_url}/sap/opu/odata/sap/API_BUSINESS_PARTNER/$metadata",
        ):
            partner = asyncio.run(_seed_erp(erp_url, records))
            basic = base64.b64encode(f"LEDGERBRIDGE:{SECRET}".encode()).decode()
            headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
            service = f"{erp_url}/sap/opu/odata/sap/API_BUSINESS_PARTNER"
            odata_filter = "SearchTerm1 eq 'SOUTH'"
            rows.append(
                _against_bare(
                    "erp get by key",
                    f"{service}/A_BusinessPartner('{partner}')",
                    headers,
                    seconds,
                    concurrency,
                    tmp,
                )
            )
            rows.append(
                _against_bare(
                    "erp filtered query",
                    f"{service}/A_BusinessPartner?$filter={quote(odata_filter)}&$top=20",
                    headers,
                    seconds,
                    concurrency,
                    tmp,
                )
            )
    write("sandboxes", rows)


if __name__ == "__main__":
    main()
