"""Who still calls v1: consumers of a version per day, over HTTP and from the command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from typing import Any

from tests.integration.lifecycle.conftest import Deployed, crm_order, run_order

from ledgerbridge.runtime.observability import flush_usage


async def test_the_lifecycle_endpoint_names_who_still_calls_v1_and_how_often(
    deployed: Deployed,
) -> None:
    """order-to-cash (through its layer client) and a mobile app still call crm-orders v1."""
    order = await run_order(deployed)  # order-to-cash reads the order and writes the link: 2
    other = await crm_order(deployed)
    for _ in range(3):
        response = await deployed.http.get(
            f"/system/crm-orders/v1/orders/{other}", headers={"X-Consumer-ID": "mobile-app"}
        )
        assert response.status_code == 200
    missing = "801000000000000AAA"
    await deployed.http.get(
        f"/system/crm-orders/v1/orders/{missing}", headers={"X-Consumer-ID": "mobile-app"}
    )
    assert (await deployed.http.get(f"/experience/customer-portal/v2/orders/{order}")).is_success

    clock = deployed.house.insight.clock
    clock.fixed = clock.now() + timedelta(days=1)
    await deployed.http.get(
        f"/system/crm-orders/v1/orders/{other}", headers={"X-Consumer-ID": "mobile-app"}
    )

    v1 = (await deployed.http.get("/system/crm-orders/v1/lifecycle")).json()
    callers = {c["consumer"]: c for c in v1["callers"]}
    assert set(callers) == {"order-to-cash", "mobile-app"}
    assert (callers["order-to-cash"]["calls"], callers["order-to-cash"]["errors"]) == (2, 0)
    assert callers["mobile-app"]["calls"] == 5
    assert callers["mobile-app"]["errors"] == 1
    assert callers["mobile-app"]["days_active"] == 2
    v2 = (await deployed.http.get("/system/crm-orders/v2/lifecycle")).json()
    assert [c["consumer"] for c in v2["callers"]] == ["customer-portal"]
    today_only = await deployed.http.get("/system/crm-orders/v1/lifecycle", params={"days": 1})
    assert [c["consumer"] for c in today_only.json()["callers"]] == ["mobile-app"]


async def test_the_analytics_command_answers_from_the_store(deployed: Deployed) -> None:
    """`ledgerbridge analytics --api crm-orders --version 1 --json` lists its callers."""
    await run_order(deployed)
    assert deployed.house.insight.usage is not None
    assert deployed.house.insight.store is not None
    await flush_usage(deployed.house.insight.usage, deployed.house.insight.store)
    env = {**os.environ, "LEDGERBRIDGE_DATABASE_URL": deployed.settings.database_url}
    callers = await _analytics(env, "--api", "crm-orders", "--version", "1")
    assert [(c["consumer"], c["calls"]) for c in callers] == [("order-to-cash", 2)]
    rows = await _analytics(env, "--consumer", "order-to-cash")
    assert {(r["api"], r["version"]) for r in rows} == {
        ("crm-orders", 1),
        ("crm-accounts", 1),
        ("erp-customers", 1),
        ("erp-sales-orders", 1),
        ("credit-verification", 1),
    }
    assert all(r["p95_ms"] > 0 for r in rows)


async def _analytics(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ledgerbridge",
        "analytics",
        "--json",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    rows: list[dict[str, Any]] = json.loads(out)
    return rows
