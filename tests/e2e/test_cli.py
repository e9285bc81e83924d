"""The command line as a user runs it: the catalog and the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import free_port

CLI = [sys.executable, "-m", "ledgerbridge"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI with arguments built here
        [*CLI, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def test_catalog_lists_every_api_built_by_the_factory(tmp_path: Path) -> None:
    """`catalog --json` names each API with its layer, version and base path."""
    result = _run("catalog", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    paths = {entry["base_path"] for entry in entries}
    layers = {entry["name"]: entry["layer"] for entry in entries}
    assert {
        "crm-accounts",
        "crm-orders",
        "erp-customers",
        "erp-sales-orders",
        "order-to-cash",
        "customer-portal",
    } <= set(layers)
    assert {"/system/crm-orders/v1", "/experience/customer-portal/v1"} <= paths
    assert layers["order-to-cash"] == "process"


def test_demo_once_pushes_every_order_and_exits_zero(tmp_path: Path) -> None:
    """`demo --once` seeds, runs N orders through order-to-cash, prints the summary, exits 0."""
    result = _run(
        "demo",
        "--once",
        "--orders",
        "8",
        "--port",
        str(free_port()),
        "--crm-port",
        str(free_port()),
        "--erp-port",
        str(free_port()),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout
    assert "order-to-cash demo" in summary
    row = next(
        line for line in summary.splitlines() if line.strip().startswith("│ ") and "ms" in line
    )
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[:3] == ["8", "8", "0"]
