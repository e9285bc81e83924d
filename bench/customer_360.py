"""The customer 360's fan-out against the same backend calls made one after another.

The house runs embedded over both sandboxes; the ERP sandbox adds a fixed latency to every
call, as a real ERP behind a network would. Each round times, from this process:

1. one GET of the service-console 360 (its calls below run in parallel), and
2. the same seven calls the 360 makes (six System API reads and the order-to-cash case
   list), awaited one after another;
3. each of those calls alone, for the 360's critical path: the CRM profile (which gives the
   ERP id), then the slowest ERP call.

All measured in the same run on the same customer; the ratio (360 / sequential sum) is the
figure to quote, and the fan-out should keep the 360 near its critical path.

Usage: python bench/customer_360.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from _report import measure, write

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

ERP_LATENCY_MS = 20
SECRET = "sandbox-secret"


async def _timings(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    for _ in range(5):  # warm connections, tokens and caches
        await call()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def _p99(timings: list[float]) -> float:
    return timings[int(0.99 * (len(timings) - 1))]


def _getter(api: httpx.AsyncClient, path: str) -> Callable[[], Awaitable[object]]:
    async def get() -> None:
        (await api.get(path)).raise_for_status()

    return get


async def _customer(
    crm: SalesforceClient, s4: S4HanaClient, api: httpx.AsyncClient
) -> tuple[str, str]:
    account = await crm.create(
        "Account",
        {
            "Name": "Bench Capital",
            "BillingStreet": "12 Taunusanlage",
            "BillingCity": "Frankfurt am Main",
            "BillingPostalCode": "60325",
            "BillingCountry": "DE",
        },
    )
    partner = await s4.create(
        "API_BUSINESS_PARTNER",
        "A_BusinessPartner",
        {
            "BusinessPartnerCategory": "2",
            "OrganizationBPName1": "Bench Capital",
            "BusinessPartnerIDByExtSystem": account,
            "to_Customer": {"CustomerName": "Bench Capital"},
        },
    )
    erp_id = str(partner.properties["BusinessPartner"])
    await crm.update("Account", account, {"ERP_Customer_Id__c": erp_id})
    await crm.create("Case", {"AccountId": account, "Subject": "Statement", "Status": "New"})
    limit = {
        "customer_erp_id": erp_id,
        "credit_segment": "1000",
        "limit": {"amount": "5000.00", "currency": "EUR"},
    }
    (await api.post("/system/erp-credit/v1/credit-limits", json=limit)).raise_for_status()
    return account, erp_id


async def main(quick: bool) -> None:
    rounds = 30 if quick else 300
    with tempfile.TemporaryDirectory() as tmp:
        async with contextlib.AsyncExitStack() as stack:
            crm_url = await stack.enter_async_context(
                serving(create_crm(database=str(Path(tmp) / "crm.sqlite3")))
            )
            erp_url = await stack.enter_async_context(
                serving(create_erp(database=str(Path(tmp) / "erp.sqlite3")))
            )
            odata = f"{erp_url}/sap/opu/odata/sap"
            settings = Settings(
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'store.sqlite3'}",
                salesforce={"base_url": crm_url},
                s4hana={"base_url": odata},
                observability={"metrics": False},
            )
            house = await stack.enter_async_context(open_house(settings))
            api = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=house.app), base_url="http://house", timeout=30
            )
            stack.push_async_callback(api.aclose)
            crm = SalesforceClient(base_url=crm_url, client_id="ledgerbridge", client_secret=SECRET)
            stack.push_async_callback(crm.aclose)
            s4 = await stack.enter_async_context(
                S4HanaClient(base_url=odata, username="LEDGERBRIDGE", password=SECRET)
            )
            account, erp_id = await _customer(crm, s4, api)
            admin = httpx.AsyncClient(base_url=erp_url, auth=("LEDGERBRIDGE", SECRET))
            stack.push_async_callback(admin.aclose)
            plan = {"rules": [{"route": "/sap/*", "latency_ms": ERP_LATENCY_MS}]}
            (await admin.put("/sandbox/admin/faults", json=plan)).raise_for_status()

            calls = [
                f"/system/crm-accounts/v1/accounts/{account}",
                f"/system/crm-cases/v1/cases?account_id={account}&limit=50",
                f"/system/erp-credit/v1/credit-exposures/{erp_id}/1000",
                f"/system/erp-billing-documents/v1/invoices?customer_erp_id={erp_id}&limit=50",
                f"/system/erp-receivables/v1/receivables?customer_erp_id={erp_id}"
                "&cleared=false&limit=50",
                f"/system/erp-receivables/v1/payments?customer_erp_id={erp_id}&limit=20",
                "/process/order-to-cash/v1/orders?limit=200",
            ]

            async def fan_out() -> None:
                answer = await api.get(f"/experience/service-console/v1/customers/{account}")
                if not answer.json()["complete"]:
                    raise RuntimeError(f"the 360 was partial: {answer.json()['sources']}")

            async def sequential() -> None:
                for path in calls:
                    (await api.get(path)).raise_for_status()

            one_360 = await _timings(fan_out, rounds)
            in_sequence = await _timings(sequential, rounds)
            alone = {path: await _timings(_getter(api, path), rounds) for path in calls}
    p50 = {path: statistics.median(timings) for path, timings in alone.items()}
    critical_path = p50[calls[0]] + max(p50[path] for path in calls[2:6])
    write(
        "customer_360",
        [
            measure(
                "customer 360 p50 (fan-out, one call)",
                statistics.median(one_360),
                "ms",
                "its 7 calls below in sequence, p50",
                statistics.median(in_sequence),
            ),
            measure(
                "customer 360 p99 (fan-out, one call)",
                _p99(one_360),
                "ms",
                "its 7 calls below in sequence, p99",
                _p99(in_sequence),
            ),
            measure(
                "customer 360 p50 (fan-out, one call)",
                statistics.median(one_360),
                "ms",
                "critical path alone: CRM profile + slowest ERP call, p50s",
                critical_path,
            ),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    asyncio.run(main(parser.parse_args().quick))
