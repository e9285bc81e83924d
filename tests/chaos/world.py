"""What the chaos tests run on: the two sandboxes and `ledgerbridge worker` as processes,
a house in the test process that takes the orders (without workers), and the store.

Each configuration is a store and a bus: SQLite with the in-process bus, and PostgreSQL with
RabbitMQ or NATS JetStream on this machine (skipped, saying why, only when nothing listens).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ledgerbridge.apis.process import erp_renumbering
from ledgerbridge.apis.process.order_to_cash import crm_changes
from ledgerbridge.apis.system.crm_orders.client import ORDER_ACTIVATED, ORDER_CANCELLED
from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.runtime.store.renumbering import TOPIC as RENUMBERED
from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import _wait_healthy, free_port
from tests.integration.brokers.conftest import (
    NATS_URL,
    RABBITMQ_URL,
    delete_namespace,
    listening,
)

BUSES = {"memory": "memory://", "rabbitmq": RABBITMQ_URL, "nats": NATS_URL}
# Timeouts and breaker short enough that a step between two moves stays well inside the
# workers' claim lease; the faults are answered at once, so this loses no realism.
RESILIENCE = {"retry_timeout": 3.0, "call_timeout": 5.0, "breaker_reset_timeout": 2.0}
CLAIM_LEASE = 8.0
# A killed worker's Idempotency-Key is freed after 15 s rather than a minute, so a
# retried credit decision does not outlast the run; still longer than any decision takes.
PROCESS = {
    "advance_interval": 0.2,
    "retry_after_seconds": 1.0,
    "relay_interval": 0.1,
    "idempotency_in_flight_seconds": 15.0,
    # Orders come in through the Process API. LEDGERBRIDGE_CHAOS_CRM_CHANGES=1 also runs the
    # workers' CRM change bridge, so each activation starts the same case a second time (the
    # full-size runs in docs/reliability.md); off by default.
    "crm_changes": bool(os.environ.get("LEDGERBRIDGE_CHAOS_CRM_CHANGES")),
}


# The workers' subscriptions (topic, group): their RabbitMQ queues are removed after a run.
SUBSCRIPTIONS = [
    (RENUMBERED, erp_renumbering.CONSUMER),
    (ORDER_ACTIVATED, crm_changes.ACTIVATED_GROUP),
    (ORDER_CANCELLED, crm_changes.CANCELLED_GROUP),
]


def _env(settings: Settings, bus_url: str) -> dict[str, str]:
    """The environment that gives a worker process the same configuration as ``settings``."""
    env = {
        **os.environ,
        "LEDGERBRIDGE_DATABASE_URL": settings.database_url,
        "LEDGERBRIDGE_BUS_URL": bus_url,
        "LEDGERBRIDGE_BUS_NAMESPACE": settings.bus_namespace,
        "LEDGERBRIDGE_SALESFORCE__BASE_URL": settings.salesforce.base_url,
        "LEDGERBRIDGE_S4HANA__BASE_URL": settings.s4hana.base_url,
        "LEDGERBRIDGE_LOG_LEVEL": os.environ.get("LEDGERBRIDGE_CHAOS_WORKER_LOG_LEVEL", "ERROR"),
    }
    for backend in ("SALESFORCE", "S4HANA"):
        for name, value in RESILIENCE.items():
            env[f"LEDGERBRIDGE_{backend}__RESILIENCE__{name.upper()}"] = str(value)
    for name, value in PROCESS.items():
        env[f"LEDGERBRIDGE_PROCESS__{name.upper()}"] = str(value)
    return env


@dataclass
class WorkerPool:
    """`ledgerbridge worker` processes: started, killed with SIGKILL, restarted, stopped."""

    env: dict[str, str]
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    kills: int = 0
    started: int = 0
    procs_started: dict[int, int] = field(default_factory=dict)

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.log_dir / f"worker-{self.started}.log").open("wb")
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, arguments built here
            [
                sys.executable,
                "-m",
                "ledgerbridge",
                "worker",
                "--claim-lease",
                str(CLAIM_LEASE),
                "--grace",
                "5",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        self.procs_started[proc.pid] = self.started
        return proc

    def is_up(self, index: int) -> bool:
        """Whether worker ``index`` (as `kill_and_restart` counts) reported it is running; on
        a loaded machine a worker takes seconds to start, and killing it before then tests
        nothing."""
        proc = self.procs[index % len(self.procs)]
        log = self.log_dir / f"worker-{self.procs_started[proc.pid]}.log"
        return "worker running" in log.read_text()

    def kill_and_restart(self, index: int) -> None:
        """SIGKILL one worker (no chance to finish anything) and start another in its place."""
        proc = self.procs.pop(index % len(self.procs))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.kills += 1
        self.start()

    def stop(self) -> list[int]:
        """SIGTERM every worker once it is running (a worker still starting up holds no
        work and dies of the signal) and wait for it; their exit codes."""
        deadline = time.monotonic() + 30
        for proc in self.procs:
            log = self.log_dir / f"worker-{self.procs_started[proc.pid]}.log"
            while "worker running" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=60) for proc in self.procs]
        self.procs.clear()
        return codes


@dataclass
class World:
    """Sandboxes, the order-taking house, the store and the workers of one configuration."""

    config: str
    settings: Settings
    http: httpx.AsyncClient
    crm: SalesforceClient
    erp: S4HanaClient
    crm_admin: httpx.AsyncClient
    erp_admin: httpx.AsyncClient
    engine: AsyncEngine
    workers: WorkerPool

    async def rows(self, query: str, **params: Any) -> list[Any]:
        """Rows of a read-only SQL query on the store."""
        async with self.engine.connect() as conn:
            return list(await conn.execute(sa.text(query), params))


@contextlib.contextmanager
def _sandboxes(tmp: Path) -> Iterator[dict[str, str]]:
    """The CRM and ERP sandboxes, each its own process (the ERP delivers orders at once)."""
    ports = {"crm": free_port(), "erp": free_port()}
    # The CRM's allowance is raised out of reach: a run of a thousand orders makes more than
    # the sandbox's default 15,000 calls a day, and a spent allowance refuses every call until
    # midnight UTC, which is no transient fault. The test injects its own limit window.
    extra = {"crm": ["--daily-limit", "10000000"], "erp": ["--delivery-delay", "0"]}
    procs: list[subprocess.Popen[bytes]] = []
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    health = {"crm": "/services/data/", "erp": "/sap/opu/odata/sap/API_SALES_ORDER_SRV/$metadata"}
    try:
        for name, port in ports.items():
            command = [sys.executable, "-m", "ledgerbridge", "sandbox", name, "--port", str(port)]
            command += ["--database", str(tmp / f"{name}.sqlite3"), *extra[name]]
            proc = subprocess.Popen(  # noqa: S603 - our own CLI, arguments built here
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            procs.append(proc)
            _wait_healthy(urls[name] + health[name], proc)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


@contextlib.asynccontextmanager
async def _database(config: str, tmp: Path) -> AsyncIterator[str]:
    if config == "sqlite-memory":
        yield f"sqlite+aiosqlite:///{tmp / 'store.sqlite3'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@contextlib.asynccontextmanager
async def _namespace(backend: str) -> AsyncIterator[str]:
    """A namespace of its own on the broker for one run, removed afterwards: what one run
    leaves unacknowledged cannot reach the next."""
    namespace = f"lbchaos-{uuid.uuid4().hex[:10]}"
    try:
        yield namespace
    finally:
        if backend != "memory":
            queues = [f"{namespace}:{group}:{topic}" for topic, group in SUBSCRIPTIONS]
            await delete_namespace(backend, namespace, queues)


@contextlib.asynccontextmanager
async def open_world(config: str, tmp: Path) -> AsyncIterator[World]:
    """Everything of ``config`` running; the workers are started by the test."""
    backend = config.split("-")[1]
    bus_url = BUSES[backend]
    if bus_url != "memory://" and not listening(bus_url):
        pytest.skip(f"needs {backend} at {bus_url}; nothing is listening there")
    async with contextlib.AsyncExitStack() as stack:
        namespace = await stack.enter_async_context(_namespace(backend))
        database_url = await stack.enter_async_context(_database(config, tmp))
        urls = stack.enter_context(_sandboxes(tmp))
        settings = Settings(
            database_url=database_url,
            bus_url=bus_url,
            bus_namespace=namespace,
            salesforce={"base_url": urls["crm"], "resilience": RESILIENCE},
            s4hana={"base_url": f"{urls['erp']}/sap/opu/odata/sap", "resilience": RESILIENCE},
            process={**PROCESS, "workers": False},
        )
        house = await stack.enter_async_context(
            open_house(settings, layers={Layer.SYSTEM, Layer.PROCESS})
        )
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://h", timeout=60
        )
        crm_secret = settings.salesforce.client_secret.get_secret_value()
        crm = SalesforceClient(
            base_url=urls["crm"], client_id=settings.salesforce.client_id, client_secret=crm_secret
        )
        erp_auth = (settings.s4hana.username, settings.s4hana.password.get_secret_value())
        erp = S4HanaClient(
            base_url=settings.s4hana.base_url, username=erp_auth[0], password=erp_auth[1]
        )
        # A billing run over a thousand orders takes longer than httpx's default 5 s.
        crm_admin = httpx.AsyncClient(
            base_url=urls["crm"], auth=(settings.salesforce.client_id, crm_secret), timeout=60
        )
        erp_admin = httpx.AsyncClient(base_url=urls["erp"], auth=erp_auth, timeout=60)
        for client in (http, crm, erp, crm_admin, erp_admin):
            stack.push_async_callback(client.aclose)
        engine = create_async_engine(database_url)
        stack.push_async_callback(engine.dispose)
        workers = WorkerPool(_env(settings, bus_url), tmp)
        try:
            yield World(config, settings, http, crm, erp, crm_admin, erp_admin, engine, workers)
        finally:
            for proc in workers.procs:
                proc.kill()
                proc.wait()
