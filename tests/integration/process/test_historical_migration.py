"""Historical-migration runs against the sandboxes over HTTP: CRM accounts copied into ERP
customers batch by batch, with progress, cancellation and resumption from the checkpoint."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.historical_migration.runner import task_name
from ledgerbridge.apis.process.historical_migration.views import API, create_app
from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.runtime.store import Store
from ledgerbridge.runtime.store.schema import crosswalk
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

RUNS = f"{API.base_path}/runs"


@dataclass
class Migration:
    """The System layer over both sandboxes, this API on top, and direct backend clients."""

    http: httpx.AsyncClient
    crm: SalesforceClient
    erp: S4HanaClient
    erp_admin: httpx.AsyncClient
    store: Store
    restart: Callable[[], httpx.AsyncClient]

    async def accounts(self, count: int) -> list[str]:
        """``count`` new CRM accounts; their ids."""
        return [
            await self.crm.create(
                "Account",
                {
                    "Name": f"Harbour Mutual {n:03d}",
                    "BillingStreet": f"{n} Quay Street",
                    "BillingCity": "Bremen",
                    "BillingPostalCode": "28195",
                    "BillingCountry": "DE",
                    "CurrencyIsoCode": "EUR",
                },
            )
            for n in range(count)
        ]

    async def slow_erp_writes(self) -> None:
        """Every business partner the ERP creates takes a while, so a run is caught mid-way."""
        await self.erp_faults(
            {"route": "*A_BusinessPartner*", "methods": ["POST"], "latency_ms": 150}
        )

    async def erp_faults(self, *rules: dict[str, Any]) -> None:
        """Replace the ERP sandbox's fault plan."""
        response = await self.erp_admin.put("/sandbox/admin/faults", json={"rules": list(rules)})
        assert response.is_success, response.text

    async def erp_partners(self) -> Counter[str]:
        """How many ERP business partners carry each CRM id."""
        partners = await self.erp.query("API_BUSINESS_PARTNER", "A_BusinessPartner")
        return Counter(str(p.properties.get("BusinessPartnerIDByExtSystem")) for p in partners)


@pytest.fixture
async def migration(tmp_path: Path, store: Store) -> AsyncIterator[Migration]:
    """Fresh sandboxes, the System layer over them, and this API on the migrated store."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp_path / "crm.sqlite3")))
        )
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        settings = Settings(
            salesforce={"base_url": crm_url},
            # One attempt and no breaker, so an ERP outage shows at once.
            s4hana={
                "base_url": f"{erp_url}/sap/opu/odata/sap",
                "resilience": {"retry_attempts": 1, "breaker_threshold": 1000},
            },
        )
        house = await stack.enter_async_context(open_house(settings, layers={Layer.SYSTEM}))
        system = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://h"
        )
        stack.push_async_callback(system.aclose)

        def process() -> httpx.AsyncClient:
            """This API as a fresh process would build it, beside the System layer."""
            root = Starlette()
            root.mount(API.base_path, create_app(ProcessDeps(store=store, system=system)))
            root.mount("/", house.app)
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=root), base_url="http://h", timeout=60
            )
            stack.push_async_callback(client.aclose)
            return client

        auth = (settings.s4hana.username, settings.s4hana.password.get_secret_value())
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        erp = S4HanaClient(base_url=settings.s4hana.base_url, username=auth[0], password=auth[1])
        erp_admin = httpx.AsyncClient(base_url=erp_url, auth=auth)
        for client in (crm, erp, erp_admin):
            stack.push_async_callback(client.aclose)
        yield Migration(process(), crm, erp, erp_admin, store, process)
        # Runs still going when a test ends are stopped before the sandboxes go.
        for task in _run_tasks():
            task.cancel()


def _run_tasks(run_id: str | None = None) -> list[asyncio.Task[Any]]:
    names = {task_name(run_id)} if run_id else None
    return [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith("migration-run:") and (names is None or t.get_name() in names)
    ]


async def _settled(http: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    """The run once no task of this process is running it any more."""
    for task in _run_tasks(run_id):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    response = await http.get(f"{RUNS}/{run_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _start(http: httpx.AsyncClient, batch_size: int, key: str | None = None) -> Any:
    body = {"source": "crm", "target": "erp", "entities": ["customers"], "batch_size": batch_size}
    headers = {"Idempotency-Key": key or str(uuid.uuid4())}
    return await http.post(RUNS, json=body, headers=headers)


async def _batches(http: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await http.get(f"{RUNS}/{run_id}/batches", params=params)).json()
        found += page["items"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return found


async def test_a_run_copies_every_account_batch_by_batch(migration: Migration) -> None:
    """Seven accounts in batches of three: three batches, every account written once to the
    ERP, read back with its CRM id and linked in the crosswalk."""
    accounts = await migration.accounts(7)
    started = await _start(migration.http, batch_size=3)
    assert started.status_code == 201, started.text
    assert started.json()["status"] == "running"
    run = await _settled(migration.http, started.json()["run_id"])
    assert run["status"] == "completed"
    assert run["progress"] == {
        "batches": 3,
        "read": 7,
        "written": 7,
        "failed": 0,
        "reconciled": 7,
    }
    assert run["finished_at"] is not None
    batches = await _batches(migration.http, run["run_id"])
    assert [(b["sequence"], b["read"]) for b in batches] == [(1, 3), (2, 3), (3, 1)]
    partners = await migration.erp_partners()
    assert all(partners[crm_id] == 1 for crm_id in accounts)
    async with migration.store.engine.connect() as conn:
        linked = await conn.execute(
            sa.select(crosswalk.c.crm_id).where(
                crosswalk.c.entity == "party", crosswalk.c.erp_id.is_not(None)
            )
        )
        assert set(accounts) <= {row.crm_id for row in linked}


async def test_the_same_key_starts_one_run(migration: Migration) -> None:
    """Repeating a start with its Idempotency-Key returns the first run and starts no other."""
    await migration.accounts(2)
    first = await _start(migration.http, batch_size=5, key="migrate-customers-1")
    again = await _start(migration.http, batch_size=5, key="migrate-customers-1")
    assert again.json()["run_id"] == first.json()["run_id"]
    await _settled(migration.http, first.json()["run_id"])
    listed = (await migration.http.get(RUNS)).json()["items"]
    assert [r["run_id"] for r in listed] == [first.json()["run_id"]]


async def test_a_cancelled_run_resumes_from_its_checkpoint(migration: Migration) -> None:
    """A run cancelled mid-way stops after its batch in hand; resumed, it reads on from the
    checkpoint to the end, and no account reaches the ERP twice."""
    accounts = await migration.accounts(6)
    await migration.slow_erp_writes()
    run_id = (await _start(migration.http, batch_size=1)).json()["run_id"]
    cancelled = await migration.http.post(f"{RUNS}/{run_id}/cancellation")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    stopped = await _settled(migration.http, run_id)
    assert stopped["status"] == "cancelled"
    assert stopped["progress"]["read"] < 6
    repeat = await migration.http.post(f"{RUNS}/{run_id}/cancellation")
    assert repeat.json()["status"] == "cancelled"
    resumed = await migration.http.post(f"{RUNS}/{run_id}/resumption")
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "running"
    done = await _settled(migration.http, run_id)
    assert done["status"] == "completed"
    assert done["progress"]["read"] == done["progress"]["written"] == 6
    assert [b["sequence"] for b in await _batches(migration.http, run_id)] == list(range(1, 7))
    partners = await migration.erp_partners()
    assert all(partners[crm_id] == 1 for crm_id in accounts)
    finished = await migration.http.post(f"{RUNS}/{run_id}/cancellation")
    assert finished.status_code == 409
    assert finished.headers["content-type"].startswith("application/problem+json")


async def test_a_run_whose_process_died_resumes_in_a_new_one(migration: Migration) -> None:
    """A run whose process dies mid-way stays running at its last checkpoint; a new process
    resumes it and finishes with each account written once and every batch counted once."""
    accounts = await migration.accounts(6)
    await migration.slow_erp_writes()
    run_id = (await _start(migration.http, batch_size=2)).json()["run_id"]
    for _ in range(2000):
        progress = (await migration.http.get(f"{RUNS}/{run_id}")).json()["progress"]
        if progress["batches"] >= 1:
            break
        await asyncio.sleep(0.01)
    (task,) = _run_tasks(run_id)
    task.cancel()  # the process dies: whatever it was doing is not committed
    with contextlib.suppress(asyncio.CancelledError):
        await task
    orphan = (await migration.http.get(f"{RUNS}/{run_id}")).json()
    assert orphan["status"] == "running"
    assert orphan["checkpoint"] is not None
    restarted = migration.restart()
    resumed = await restarted.post(f"{RUNS}/{run_id}/resumption")
    assert resumed.status_code == 200, resumed.text
    done = await _settled(restarted, run_id)
    assert done["status"] == "completed"
    assert done["progress"] == {
        "batches": 3,
        "read": 6,
        "written": 6,
        "failed": 0,
        "reconciled": 6,
    }
    partners = await migration.erp_partners()
    assert all(partners[crm_id] == 1 for crm_id in accounts)


async def test_a_run_stopped_by_an_erp_outage_fails_and_resumes(migration: Migration) -> None:
    """An ERP that answers 503 ends the run failed with the reason and nothing counted
    written; once the ERP is back, resuming completes it."""
    accounts = await migration.accounts(3)
    await migration.erp_faults({"route": "*", "error_rates": {"503": 1.0}})
    run_id = (await _start(migration.http, batch_size=2)).json()["run_id"]
    failed = await _settled(migration.http, run_id)
    assert failed["status"] == "failed"
    assert failed["error"]
    assert failed["progress"]["written"] == 0
    await migration.erp_faults()
    assert (await migration.http.post(f"{RUNS}/{run_id}/resumption")).status_code == 200
    done = await _settled(migration.http, run_id)
    assert done["status"] == "completed"
    assert done["error"] is None
    assert done["progress"]["written"] == done["progress"]["reconciled"] == 3
    partners = await migration.erp_partners()
    assert all(partners[crm_id] == 1 for crm_id in accounts)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"entities": ["orders"]}, "entities"),
        ({"entities": []}, "entities"),
        ({"source": "erp"}, "source"),
        ({"target": "crm"}, "target"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 201}, "batch_size"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    migration: Migration, change: dict[str, Any], field: str
) -> None:
    """A start the API cannot take is a 422 problem+json naming the field, and starts nothing."""
    body = {"source": "crm", "target": "erp", "entities": ["customers"], "batch_size": 10}
    response = await migration.http.post(
        RUNS, json=body | change, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(field in e["field"] for e in response.json()["errors"]), response.json()
    assert (await migration.http.get(RUNS)).json()["items"] == []


async def test_a_start_without_a_key_and_an_unknown_run_are_problems(
    migration: Migration,
) -> None:
    """A start needs an Idempotency-Key (422 naming it); an unknown run is a 404."""
    body = {"source": "crm", "target": "erp", "entities": ["customers"]}
    keyless = await migration.http.post(RUNS, json=body)
    assert keyless.status_code == 422
    assert any("idempotency-key" in e["field"].lower() for e in keyless.json()["errors"])
    missing = await migration.http.get(f"{RUNS}/{'0' * 36}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
