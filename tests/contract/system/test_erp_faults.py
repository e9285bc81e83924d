"""The ERP System APIs while the ERP sandbox fails 30% of calls: reads and keyed writes succeed
through the ERP's resilience policy, and no repeat writes anything twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.contract.system.conftest import ErpWorld, open_world

from ledgerbridge.runtime.resilience import policies, set_testing

FLAKY = {
    "seed": 11,
    "rules": [{"route": "/sap/opu/odata/sap/*", "error_rates": {"503": 0.3}}],
}


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)
    policies.clear()


@pytest.fixture
async def flaky(tmp_path: Path) -> AsyncIterator[ErpWorld]:
    """The world, its scene set while the ERP is healthy, then 30% of ERP calls failing."""
    async with open_world(
        tmp_path, resilience={"retry_attempts": 10, "breaker_threshold": 50}
    ) as world:
        await world.product("MAT")
        customer = await world.customer()
        await world.invoice(customer, price="50.00")
        (await world.admin.put("/sandbox/admin/faults", json=FLAKY)).raise_for_status()
        yield world


async def test_keyed_writes_and_reads_survive_a_flaky_erp(flaky: ErpWorld) -> None:
    """Every upsert, posting and read answers 2xx, twice over, and the ERP holds each once."""
    api = flaky.api
    statuses: list[int] = []
    for _ in range(2):
        for n in range(4):
            product = {"sku": f"FLAKY-{n}", "name": f"Flaky {n}", "unit": "EA"}
            statuses.append(
                (await api.post("/system/erp-products/v1/products", json=product)).status_code
            )
        price = {
            "product_sku": "MAT",
            "unit_price": {"amount": "10.00", "currency": "EUR"},
            "valid_from": "2027-01-01",
        }
        statuses.append((await api.post("/system/erp-pricing/v1/prices", json=price)).status_code)
        limit = {
            "customer_erp_id": "1000000",
            "credit_segment": "1000",
            "limit": {"amount": "900.00", "currency": "EUR"},
        }
        statuses.append(
            (await api.post("/system/erp-credit/v1/credit-limits", json=limit)).status_code
        )
        payment = {
            "customer_erp_id": "1000000",
            "payment_date": "2026-11-30",
            "amount": {"amount": "25.00", "currency": "EUR"},
            "reference": "FLAKY-PAYMENT",
        }
        statuses.append(
            (await api.post("/system/erp-receivables/v1/payments", json=payment)).status_code
        )
    reads = [
        await api.get("/system/erp-products/v1/products", params={"limit": "2"}),
        await api.get("/system/erp-pricing/v1/prices"),
        await api.get("/system/erp-billing-documents/v1/invoices"),
        await api.get("/system/erp-receivables/v1/receivables"),
        await api.get("/system/erp-credit/v1/credit-exposures/1000000/1000"),
    ]
    injected = (await flaky.admin.get("/sandbox/admin/faults")).json()["injected"]
    (await flaky.admin.delete("/sandbox/admin/faults")).raise_for_status()

    assert sum(injected.values()) > 5
    assert statuses == [201] * 7 + [200] * 7
    assert [r.status_code for r in reads] == [200] * 5
    products = await flaky.s4.count("API_PRODUCT_SRV", "A_Product")
    prices = await flaky.s4.count("API_SLSPRICINGCONDITIONRECORD_SRV", "A_SlsPrcgConditionRecord")
    payments = await flaky.s4.count("ZLB_INCOMING_PAYMENT_SRV", "IncomingPayment")
    assert (products, prices, payments) == (5, 1, 1)
