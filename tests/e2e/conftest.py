"""Deployments of the whole house for end-to-end tests: embedded, and one process per layer."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp


@dataclass
class Deployment:
    """Where each part of a running house answers, and clients to reach them."""

    process: httpx.AsyncClient
    experience: httpx.AsyncClient
    crm: SalesforceClient
    erp: S4HanaClient


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: every socket stays bound until all are chosen."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def _processes(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """CRM, ERP, System, Process and Experience, each its own `ledgerbridge` process, with
    ``extra_env`` added to the environment of every one."""
    names = ("crm", "erp", "system", "process", "experience")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {
        **os.environ,
        "LEDGERBRIDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'store.sqlite3'}",
        "LEDGERBRIDGE_SALESFORCE__BASE_URL": urls["crm"],
        "LEDGERBRIDGE_S4HANA__BASE_URL": f"{urls['erp']}/sap/opu/odata/sap",
        "LEDGERBRIDGE_SYSTEM_URL": urls["system"],
        "LEDGERBRIDGE_PROCESS_URL": urls["process"],
        "LEDGERBRIDGE_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    cli = [sys.executable, "-m", "ledgerbridge"]
    commands = {
        "crm": [*cli, "sandbox", "crm", "--database", str(tmp / "crm.sqlite3")],
        "erp": [*cli, "sandbox", "erp", "--database", str(tmp / "erp.sqlite3")],
        "system": [*cli, "serve", "--layer", "system"],
        "process": [*cli, "serve", "--layer", "process"],
        "experience": [*cli, "serve", "--layer", "experience"],
    }
    health = {
        "crm": "/services/data/",
        "erp": "/sap/opu/odata/sap/API_SALES_ORDER_SRV/$metadata",
        "system": "/system/crm-orders/v1/healthz",
        "process": "/process/order-to-cash/v1/healthz",
        "experience": "/experience/customer-portal/v1/healthz",
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in commands.items():
            proc = subprocess.Popen(  # noqa: S603 - our own CLI, arguments built here
                [*command, "--port", str(ports[name])],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            _wait_healthy(urls[name] + health[name], proc)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _backend_clients(crm_url: str, erp_url: str) -> tuple[SalesforceClient, S4HanaClient]:
    defaults = Settings()
    return (
        SalesforceClient(
            base_url=crm_url,
            client_id=defaults.salesforce.client_id,
            client_secret=defaults.salesforce.client_secret.get_secret_value(),
        ),
        S4HanaClient(
            base_url=f"{erp_url}/sap/opu/odata/sap",
            username=defaults.s4hana.username,
            password=defaults.s4hana.password.get_secret_value(),
        ),
    )


@pytest.fixture(scope="module")
def layer_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One process per sandbox and per layer, shared by a test module (each test makes its own
    records)."""
    with _processes(tmp_path_factory.mktemp("processes")) as urls:
        yield urls


@pytest.fixture(params=["embedded", pytest.param("processes", marks=pytest.mark.slow)])
async def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Deployment]:
    """The house embedded in this process (layers over ASGI), or as one process per layer."""
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "embedded":
            crm_url = await stack.enter_async_context(
                serving(create_crm(database=str(tmp_path / "crm.sqlite3")))
            )
            erp_url = await stack.enter_async_context(
                serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
            )
            settings = Settings(
                database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}",
                salesforce={"base_url": crm_url},
                s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap"},
            )
            house = await stack.enter_async_context(open_house(settings))
            transport = httpx.ASGITransport(app=house.app)
            process = httpx.AsyncClient(transport=transport, base_url="http://house")
            experience = httpx.AsyncClient(transport=transport, base_url="http://house")
        else:
            urls = request.getfixturevalue("layer_processes")
            crm_url, erp_url = urls["crm"], urls["erp"]
            process = httpx.AsyncClient(base_url=urls["process"], timeout=30)
            experience = httpx.AsyncClient(base_url=urls["experience"], timeout=30)
        crm, erp = _backend_clients(crm_url, erp_url)
        for client in (process, experience, crm, erp):
            stack.push_async_callback(client.aclose)
        yield Deployment(process=process, experience=experience, crm=crm, erp=erp)
