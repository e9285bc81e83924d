"""Product and pricing sync against the sandboxes over HTTP, on SQLite and PostgreSQL:
ERP products and prices reach the CRM, a second run writes nothing, a change in the ERP is
written to the CRM, bad input is a problem naming the field."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.workers import process_workers
from ledgerbridge.bootstrap import open_house
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.runtime.store import Store
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

SYNC = "/process/product-and-pricing-sync/v1"
ERP_PRODUCTS = "/system/erp-products/v1/products"
ERP_PRICES = "/system/erp-pricing/v1/prices"


@pytest.fixture
async def house(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The System and Process layers over fresh sandboxes, workers off, on each database."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp_path / "crm.sqlite3")))
        )
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        settings = Settings(
            database_url=database_url,
            salesforce={"base_url": crm_url},
            s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap"},
            process={"workers": False},
        )
        opened = await stack.enter_async_context(
            open_house(settings, layers={Layer.SYSTEM, Layer.PROCESS})
        )
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=opened.app), base_url="http://house"
        )
        stack.push_async_callback(http.aclose)
        yield http


async def _erp_product(http: httpx.AsyncClient, name: str, price: str) -> str:
    sku = f"SYNC-{uuid.uuid4().hex[:8].upper()}"
    product = await http.post(ERP_PRODUCTS, json={"sku": sku, "name": name})
    assert product.is_success, product.text
    await _erp_price(http, sku, price)
    return sku


async def _erp_price(http: httpx.AsyncClient, sku: str, amount: str) -> None:
    response = await http.post(
        ERP_PRICES,
        json={
            "product_sku": sku,
            "unit_price": {"amount": amount, "currency": "EUR"},
            "valid_from": "2026-01-01",
        },
    )
    assert response.is_success, response.text


async def _run(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post(f"{SYNC}/runs", json=body)
    assert response.status_code == 201, response.text
    run = dict(response.json())
    assert run["status"] == "completed", run
    return run


async def _crm_price(http: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    page = (await http.get("/system/crm-price-books/v1/prices", params={"sku": sku})).json()
    (price,) = page["items"]
    return dict(price)


async def test_erp_catalog_reaches_the_crm_and_a_second_run_writes_nothing(
    house: httpx.AsyncClient,
) -> None:
    """A run creates each ERP product and its price in the CRM; the next run finds every
    record equal and writes nothing; both runs are listed, newest first."""
    custody = await _erp_product(house, "Custody", "150.00")
    escrow = await _erp_product(house, "Escrow", "75.50")

    first = await _run(house, batch_size=1)
    assert first["products"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    assert first["prices"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    products = (await house.get("/system/crm-products/v1/products")).json()["items"]
    assert {(p["sku"], p["name"]) for p in products} == {(custody, "Custody"), (escrow, "Escrow")}
    assert (await _crm_price(house, escrow))["unit_price"] == {"amount": "75.50", "currency": "EUR"}

    second = await _run(house)
    assert second["products"] == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}
    assert second["prices"] == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}
    runs = (await house.get(f"{SYNC}/runs")).json()["items"]
    assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]]
    assert {r["trigger"] for r in runs} == {"on_demand"}


async def test_a_renamed_erp_product_updates_only_that_crm_product(
    house: httpx.AsyncClient,
) -> None:
    """After the ERP renames one product, a run updates exactly that CRM product."""
    sku = await _erp_product(house, "Custody", "150.00")
    other = await _erp_product(house, "Escrow", "75.50")
    await _run(house)

    renamed = await house.post(ERP_PRODUCTS, json={"sku": other, "name": "Escrow Plus"})
    assert renamed.is_success, renamed.text
    run = await _run(house)

    assert run["products"] == {"created": 0, "updated": 1, "unchanged": 1, "failed": 0}
    assert run["prices"] == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}
    names = {
        p["sku"]: p["name"]
        for p in (await house.get("/system/crm-products/v1/products")).json()["items"]
    }
    assert names == {sku: "Custody", other: "Escrow Plus"}
    assert (await house.get(f"{SYNC}/runs/{run['run_id']}")).json() == run


async def test_a_changed_erp_price_updates_the_crm_price(house: httpx.AsyncClient) -> None:
    """After the ERP changes a price, a run updates that CRM price book entry in place."""
    sku = await _erp_product(house, "Custody", "150.00")
    await _run(house)
    entry_before = await _crm_price(house, sku)

    await _erp_price(house, sku, "160.00")
    run = await _run(house)

    assert run["prices"] == {"created": 0, "updated": 1, "unchanged": 0, "failed": 0}
    entry = await _crm_price(house, sku)
    assert entry["crm_id"] == entry_before["crm_id"]
    assert entry["unit_price"] == {"amount": "160.00", "currency": "EUR"}


async def test_the_schedule_runs_the_sync_on_its_own(
    house: httpx.AsyncClient, database_url: str
) -> None:
    """The interval worker runs the sync without a request; its runs say they came from the
    schedule."""
    sku = await _erp_product(house, "Custody", "150.00")
    store = Store(database_url)
    workers = process_workers(
        ProcessDeps(store=store, system=house),
        bus_url="memory://",
        advance_interval=60,
        retry_after=timedelta(seconds=60),
        relay_interval=60,
        product_sync_interval=0.05,
    )
    try:
        async with workers:
            runs: list[dict[str, Any]] = []
            while not any(r["status"] != "running" for r in runs):
                await asyncio.sleep(0.05)
                runs = (await house.get(f"{SYNC}/runs")).json()["items"]
    finally:
        await store.dispose()
    assert {r["trigger"] for r in runs} == {"schedule"}
    products = (await house.get("/system/crm-products/v1/products", params={"sku": sku})).json()
    assert [p["name"] for p in products["items"]] == ["Custody"]


async def test_bad_input_is_a_problem_naming_the_field(house: httpx.AsyncClient) -> None:
    """A batch size out of range is refused with problem+json naming it; no run is recorded."""
    response = await house.post(f"{SYNC}/runs", json={"batch_size": 0})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "batch_size" in response.text
    unknown = await house.get(f"{SYNC}/runs/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert (await house.get(f"{SYNC}/runs")).json()["items"] == []
