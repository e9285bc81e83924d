"""Account reconciliation against generated sandboxes over HTTP: every seeded mismatch is
found with its class, safe repairs hold on the next run, bad input names its field."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ledgerbridge.apis.process.account_reconciliation.views import API, create_app
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.runtime.store import Store, link
from ledgerbridge.sandboxes.crm import BackgroundServer
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp
from ledgerbridge.sandboxes.generator import Plan, Scenario, Sizes, make_plan, manifest
from ledgerbridge.sandboxes.generator.crm_remote import RemoteCrm
from ledgerbridge.sandboxes.generator.erp_remote import RemoteErp
from ledgerbridge.sandboxes.generator.running import seed_running

RECON = "/process/account-reconciliation/v1"
# The manifest names customers "customer"; the API names them as the CRM does.
ENTITY = {"customer": "account", "order": "order"}


@dataclass
class Generated:
    """A house over sandboxes seeded from one plan, and a CRM client to change records."""

    http: httpx.AsyncClient
    plan: Plan
    crm: SalesforceClient
    erp_admin: httpx.AsyncClient


async def _record_crosswalk(store: Store, plan: Plan) -> None:
    """The crosswalk as the integration leaves it: every CRM record it has seen, ERP side
    still to be confirmed."""
    async with store.engine.begin() as conn:
        for customer in plan.customers:
            if customer.crm_id is not None:
                await link(conn, "party", crm_id=customer.crm_id)
        for order in plan.orders:
            if order.in_crm:
                await link(conn, "order", crm_id=order.crm_id)


@pytest.fixture
async def generated(tmp_path: Path, store: Store) -> AsyncIterator[Generated]:
    """Sandboxes seeded with a mismatched plan, the System layer over them, and this API on
    the Process layer's dependencies."""
    planned = make_plan(seed=11, sizes=Sizes(customers=24), scenario=Scenario.MISMATCHED)
    async with contextlib.AsyncExitStack() as stack:
        crm_server = stack.enter_context(
            BackgroundServer(create_crm(database=str(tmp_path / "crm.sqlite3")))
        )
        erp_server = stack.enter_context(
            BackgroundServer(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        crm_url, erp_url = crm_server.url, erp_server.url
        # Over HTTP, so each sandbox applies its own rules to what is written.
        with RemoteCrm(crm_url) as crm_sink, RemoteErp(erp_url) as erp_sink:
            plan, _ = seed_running(planned, crm=crm_sink, erp=erp_sink)
        settings = Settings(
            salesforce={"base_url": crm_url},
            # One attempt and no breaker, so an ERP outage shows at once.
            s4hana={
                "base_url": f"{erp_url}/sap/opu/odata/sap",
                "resilience": {"retry_attempts": 1, "breaker_threshold": 1000},
            },
        )
        house = await stack.enter_async_context(open_house(settings, layers={Layer.SYSTEM}))
        await _record_crosswalk(store, plan)
        system = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://h"
        )
        # This API on its own (sibling Process APIs may be half-built), beside the System layer.
        root = Starlette()
        root.mount(API.base_path, create_app(ProcessDeps(store=store, system=system)))
        root.mount("/", house.app)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=root), base_url="http://h", timeout=60
        )
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        stack.push_async_callback(system.aclose)
        stack.push_async_callback(http.aclose)
        stack.push_async_callback(crm.aclose)
        auth = (settings.s4hana.username, settings.s4hana.password.get_secret_value())
        erp_admin = httpx.AsyncClient(base_url=erp_url, auth=auth)
        stack.push_async_callback(erp_admin.aclose)
        yield Generated(http=http, plan=plan, crm=crm, erp_admin=erp_admin)


async def _differences(http: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    """Every difference of a run, page by page."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "7", **({"cursor": cursor} if cursor else {})}
        response = await http.get(f"{RECON}/runs/{run_id}/differences", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["items"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return found


async def _run(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post(f"{RECON}/runs", json=body)
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    assert run["status"] == "completed", run
    return run


def _matches(seeded: dict[str, Any], found: dict[str, Any]) -> bool:
    if found["entity"] != ENTITY[seeded["entity"]] or found["kind"] != seeded["class"]:
        return False
    if seeded["crm_id"] is not None and found["crm_id"] != seeded["crm_id"]:
        return False
    return set(seeded["erp_ids"]) <= set(found["erp_ids"])


async def test_every_seeded_mismatch_is_found_with_its_class(generated: Generated) -> None:
    """A run on a generated data set reports each seeded difference in its class, and every
    record compared is either matched or explained."""
    run = await _run(generated.http, entities=["accounts", "orders", "invoices", "payments"])
    found = await _differences(generated.http, run["run_id"])
    seeded = manifest(generated.plan)["mismatches"]
    assert {m["class"] for m in seeded} == {
        "missing_in_erp",
        "missing_in_crm",
        "field_mismatch",
        "amount_mismatch",
        "duplicate",
    }
    missed = [m for m in seeded if not any(_matches(m, f) for f in found)]
    assert missed == []
    city = next(m for m in seeded if m["class"] == "field_mismatch")
    (reported,) = [f for f in found if f["crm_id"] == city["crm_id"]]
    assert (reported["field"], reported["crm_value"], reported["erp_value"]) == (
        "billing_address.city",
        city["crm_value"],
        city["erp_value"],
    )
    amount = next(m for m in seeded if m["class"] == "amount_mismatch")
    (queued,) = [f for f in found if f["kind"] == "amount_mismatch" and f["entity"] == "order"]
    assert (queued["crm_value"], queued["erp_value"]) == (amount["crm_value"], amount["erp_value"])
    assert queued["resolution"] == "queued"
    assert queued["evidence"]["crm_net_total"] == f"{amount['crm_value']} EUR"
    summary = run["summary"]
    assert summary["compared"] == summary["matched"] + summary["explained"]
    assert summary["explained_rate"] == 1.0
    assert summary["matched"] > 0
    assert summary["queued"] + summary["repaired"] == len(found)
    # Nothing beyond the seeded order and customer differences and what they imply.
    seeded_ids = {m["crm_id"] for m in seeded} | {
        n for m in seeded if m["crm_id"] is None for n in m["erp_ids"]
    }
    for difference in found:
        assert difference["crm_id"] in seeded_ids or set(difference["erp_ids"]) & seeded_ids, (
            difference
        )


async def test_safe_repairs_hold_and_the_next_run_matches_them(generated: Generated) -> None:
    """An ERP number missing on CRM orders is repaired; the next run finds those orders
    matched, while the differences it may not repair stay queued."""
    stale = [o for o in generated.plan.orders if o.in_crm and len(o.erp_numbers) == 1][:3]
    for order in stale:
        await generated.crm.update("Order", order.crm_id, {"ERP_Order_Number__c": None})
    first = await _run(generated.http, entities=["orders"])
    repaired = await _differences(generated.http, first["run_id"])
    fixed = {d["crm_id"] for d in repaired if d["resolution"] == "repaired"}
    assert fixed == {o.crm_id for o in stale}
    assert all(
        (d["kind"], d["field"]) == ("field_mismatch", "erp_number")
        for d in repaired
        if d["resolution"] == "repaired"
    )
    second = await _run(generated.http, entities=["orders"])
    again = await _differences(generated.http, second["run_id"])
    assert fixed.isdisjoint(d["crm_id"] for d in again)
    assert second["summary"]["repaired"] == 0
    assert second["summary"]["matched"] == first["summary"]["matched"] + len(stale)
    assert second["summary"]["queued"] == first["summary"]["queued"]
    for order in stale:
        response = await generated.http.get(f"/system/crm-orders/v1/orders/{order.crm_id}")
        assert response.json()["erp_number"] == order.erp_numbers[0]


async def test_without_repair_everything_is_queued(generated: Generated) -> None:
    """With repair off, a repairable difference is queued and the CRM stays as it was."""
    (order,) = [o for o in generated.plan.orders if o.in_crm and len(o.erp_numbers) == 1][:1]
    await generated.crm.update("Order", order.crm_id, {"ERP_Order_Number__c": None})
    run = await _run(generated.http, entities=["orders"], repair=False)
    assert run["summary"]["repaired"] == 0
    response = await generated.http.get(
        f"{RECON}/runs/{run['run_id']}/differences", params={"resolution": "queued", "limit": 200}
    )
    assert order.crm_id in {d["crm_id"] for d in response.json()["items"]}
    crm_order = await generated.http.get(f"/system/crm-orders/v1/orders/{order.crm_id}")
    assert crm_order.json()["erp_number"] is None


async def test_runs_are_listed_newest_first_and_read_back(generated: Generated) -> None:
    """Runs are kept with their summaries and listed page by page."""
    first = await _run(generated.http, entities=["payments"])
    second = await _run(generated.http, entities=["invoices"])
    page = (await generated.http.get(f"{RECON}/runs", params={"limit": 1})).json()
    assert [r["run_id"] for r in page["items"]] == [second["run_id"]]
    rest = await generated.http.get(f"{RECON}/runs", params={"cursor": page["next_cursor"]})
    assert [r["run_id"] for r in rest.json()["items"]] == [first["run_id"]]
    again = await generated.http.get(f"{RECON}/runs/{first['run_id']}")
    assert again.json() == first


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"entities": ["ledgers"]}, "entities"),
        ({"entities": []}, "entities"),
        ({"number_range_tail": -1}, "number_range_tail"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    generated: Generated, body: dict[str, Any], field: str
) -> None:
    """A request the API cannot take is a 422 problem+json naming the field."""
    response = await generated.http.post(f"{RECON}/runs", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(field in e["field"] for e in response.json()["errors"]), response.json()


async def test_a_run_that_cannot_read_the_erp_fails_and_says_why(generated: Generated) -> None:
    """With the ERP down, a run ends failed with the reason and records no differences."""
    outage = {"route": "*", "error_rates": {"503": 1.0}}
    response = await generated.erp_admin.put("/sandbox/admin/faults", json={"rules": [outage]})
    assert response.is_success, response.text
    started = await generated.http.post(f"{RECON}/runs", json={"entities": ["orders"]})
    assert started.status_code == 201, started.text
    run = started.json()
    assert run["status"] == "failed"
    assert run["summary"] is None
    assert run["error"]
    assert await _differences(generated.http, run["run_id"]) == []


async def test_unknown_run_and_foreign_cursor_are_problems(generated: Generated) -> None:
    """An unknown run is a 404 problem; a cursor from elsewhere is a 422 naming cursor."""
    missing = await generated.http.get(f"{RECON}/runs/{'0' * 36}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = await generated.http.get(f"{RECON}/runs", params={"cursor": "bm90LWpzb24"})
    assert bad.status_code == 422
    assert any("cursor" in e["field"] for e in bad.json()["errors"])
