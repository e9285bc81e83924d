"""Starting a sandbox as its own process, as `ledgerbridge sandbox crm|erp` does.

It turns command-line flags into what the sandboxes take: a fault plan (error rates per
route, latency, outage windows, a seed), the CRM's TLS and daily quota, the ERP's delivery
delay, and a data set seeded into the database before the first request.

    --fault "/services/data/*:503:0.2"   ROUTE:STATUS:RATE, repeatable
    --outage 10:30                       from 10 s after start, for 30 s (or an ISO start)
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.crm import issue_certificates
from ledgerbridge.sandboxes.crm.faults import FaultPlan as CrmFaultPlan
from ledgerbridge.sandboxes.erp import create_app as create_erp
from ledgerbridge.sandboxes.erp.faults import FaultPlan as ErpFaultPlan
from ledgerbridge.sandboxes.generator.databases import Seeded, seed_databases
from ledgerbridge.sandboxes.generator.manifest import write_manifest
from ledgerbridge.sandboxes.generator.plan import Scenario, Sizes, make_plan

SANDBOXES = ("crm", "erp")


@dataclass(frozen=True)
class Faults:
    """Fault flags: `ROUTE:STATUS:RATE` rules, latency, `START:SECONDS` outages, the seed."""

    errors: tuple[str, ...] = ()
    latency_ms: int = 0
    outages: tuple[str, ...] = ()
    seed: int = 0

    def plan(self, started: datetime) -> dict[str, Any]:
        """The fault plan (the sandboxes' shared JSON shape), outages placed from `started`.

        Raises:
            ValueError: naming the flag whose value cannot be read.
        """
        rates: dict[str, dict[int, float]] = {}
        for text in self.errors:
            route, status, rate = _fault(text)
            rates.setdefault(route, {})[status] = rate
        rules: list[dict[str, Any]] = [
            {"route": route, "error_rates": error_rates} for route, error_rates in rates.items()
        ]
        if self.latency_ms:
            rules.append({"route": "*", "latency_ms": self.latency_ms})
        if self.outages:
            windows = [_outage(text, started) for text in self.outages]
            rules.append(
                {
                    "route": "*",
                    "outages": [{"start": s.isoformat(), "end": e.isoformat()} for s, e in windows],
                }
            )
        return {"seed": self.seed, "rules": rules}


def _fault(text: str) -> tuple[str, int, float]:
    route, _, rest = text.rpartition(":")
    route, _, status = route.rpartition(":")
    try:
        parsed = (route, int(status), float(rest))
    except ValueError:
        parsed = ("", 0, -1.0)
    if not parsed[0] or not 400 <= parsed[1] <= 599 or not 0 <= parsed[2] <= 1:
        raise ValueError(
            f"--fault {text!r}: expected ROUTE:STATUS:RATE, such as '/services/data/*:503:0.2'"
        )
    return parsed


def _outage(text: str, started: datetime) -> tuple[datetime, datetime]:
    start_text, _, seconds_text = text.rpartition(":")
    try:
        seconds = float(seconds_text)
        if start_text.replace(".", "", 1).isdigit():
            start = started + timedelta(seconds=float(start_text))
        else:
            start = datetime.fromisoformat(start_text.replace("Z", "+00:00"))
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise ValueError(
            f"--outage {text!r}: expected START:SECONDS, START being seconds after start-up "
            "or an ISO 8601 time, such as '5:30'"
        )
    return start, start + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Generate:
    """What to seed into the database before serving."""

    customers: int
    scenario: Scenario = Scenario.MATCHED
    seed: int = 7
    manifest: Path | None = None


@dataclass(frozen=True)
class Launch:
    """Everything `ledgerbridge sandbox` is told on its command line."""

    which: str
    database: Path
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    certificate_dir: Path | None = None
    daily_limit: int | None = None
    delivery_delay: float | None = None
    faults: Faults = field(default_factory=Faults)
    generate: Generate | None = None

    def __post_init__(self) -> None:
        if self.which not in SANDBOXES:
            raise ValueError(f"no sandbox called {self.which!r}: crm or erp")
        if self.which == "erp" and (self.tls or self.daily_limit is not None):
            raise ValueError("--tls and --daily-limit are the CRM sandbox's; the ERP has neither")
        if self.which == "crm" and self.delivery_delay is not None:
            raise ValueError("--delivery-delay is the ERP sandbox's; the CRM has none")


def seed(launch: Launch) -> Seeded | None:
    """Seed the sandbox's database as `launch.generate` asks (and write the manifest)."""
    if launch.generate is None:
        return None
    wanted = launch.generate
    plan = make_plan(
        seed=wanted.seed, sizes=Sizes(customers=wanted.customers), scenario=wanted.scenario
    )
    if launch.which == "crm":
        seeded = seed_databases(plan, crm=launch.database)
    else:
        seeded = seed_databases(plan, erp=launch.database)
    if wanted.manifest is not None:
        write_manifest(plan, wanted.manifest)
    return seeded


def build(launch: Launch, started: datetime) -> FastAPI:
    """The sandbox app for `launch`, its fault plan loaded.

    Raises:
        ValueError: for a flag value the sandbox cannot take.
    """
    plan = launch.faults.plan(started)
    if launch.which == "crm":
        app = (
            create_crm(database=str(launch.database))
            if launch.daily_limit is None
            else create_crm(database=str(launch.database), daily_request_limit=launch.daily_limit)
        )
        app.state.faults.load(CrmFaultPlan.model_validate(plan))
    else:
        app = create_erp(database=str(launch.database), delivery_delay=launch.delivery_delay)
        app.state.faults.load(ErpFaultPlan.model_validate(plan))
    return app


async def serve(launch: Launch, announce: Callable[[str], None]) -> None:
    """Seed, build and serve the sandbox until cancelled; `announce` is told where it listens."""
    started = datetime.now(UTC)
    seeded = seed(launch)
    if seeded is not None:
        announce(
            f"seeded {seeded.crm_records + seeded.erp_records} records in "
            f"{seeded.seconds:.1f} s ({seeded.records_per_second:,.0f} records/s)"
        )
    app = build(launch, started)
    certificate = None
    if launch.tls:
        folder = launch.certificate_dir or launch.database.parent / f"{launch.which}-tls"
        files = issue_certificates(folder)
        certificate = str(files.server)
        announce(f"CA certificate: {files.ca}")
    # Bound here, so port 0 gives a free port whose number can be announced.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((launch.host, launch.port))
    config = uvicorn.Config(
        app, log_level="warning", ssl_certfile=certificate, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the sandbox stopped before it started")
        await asyncio.sleep(0.01)
    scheme = "https" if launch.tls else "http"
    announce(f"{launch.which} sandbox at {scheme}://{launch.host}:{listener.getsockname()[1]}")
    try:
        await task
    finally:
        listener.close()
