"""The ERP System APIs through the resilience policy, against the ERP sandbox's faults."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.integration.resilience.conftest import BREAKER_RESET, Deployed

from ledgerbridge.connectors.s4hana import odata_literal
from ledgerbridge.runtime.problems import PROBLEM_MEDIA_TYPE

CUSTOMERS = "/system/erp-customers/v1/customers"
SALES_ORDERS = "/system/erp-sales-orders/v1/sales-orders"
BREAKERS = "/system/backend-health/v1/breakers"
ODATA = "/sap/opu/odata/sap/*"


def a_party() -> dict[str, Any]:
    return {
        "crm_id": f"001{uuid.uuid4().hex[:12].upper()}",
        "name": "Meridian Capital Partners",
        "billing_address": {
            "street": "12 Taunusanlage",
            "city": "Frankfurt am Main",
            "postal_code": "60325",
            "country": "DE",
        },
    }


def an_order(customer_erp_id: str) -> dict[str, Any]:
    usd = {"currency": "USD"}
    return {
        "crm_id": f"801{uuid.uuid4().hex[:12].upper()}",
        "customer_erp_id": customer_erp_id,
        "order_date": "2026-11-20",
        "currency": "USD",
        "status": "activated",
        "lines": [
            {
                "line_number": 1,
                "product_sku": "LB-100",
                "quantity": "3",
                "unit": "EA",
                "unit_price": {"amount": "199.90", **usd},
                "net_amount": {"amount": "599.70", **usd},
            }
        ],
        "net_total": {"amount": "599.70", **usd},
    }


async def breaker(deployed: Deployed, backend: str) -> dict[str, Any]:
    response = await deployed.system.get(BREAKERS)
    assert response.status_code == 200
    found: dict[str, Any] = next(b for b in response.json()["breakers"] if b["backend"] == backend)
    return found


async def test_keyed_writes_and_reads_succeed_while_30_percent_of_calls_fail(
    deployed: Deployed,
) -> None:
    """With 30% of ERP calls answering 5xx, creates-if-missing and reads all succeed, once each."""
    await deployed.faults(
        {"route": ODATA, "error_rates": {"500": 0.1, "502": 0.1, "503": 0.1}}, seed=30
    )
    parties = [a_party() for _ in range(12)]
    customers = []
    for party in parties:
        response = await deployed.system.post(CUSTOMERS, json=party)
        assert response.status_code == 201, response.text
        customers.append(response.json())
    again = await deployed.system.post(CUSTOMERS, json=parties[0])
    assert (again.status_code, again.json()["erp_id"]) == (200, customers[0]["erp_id"])
    for customer in customers:
        response = await deployed.system.get(f"{CUSTOMERS}/{customer['erp_id']}")
        assert (response.status_code, response.json()["crm_id"]) == (200, customer["crm_id"])
    orders = [an_order(c["erp_id"]) for c in customers[:6]]
    for order in orders:
        created = await deployed.system.post(SALES_ORDERS, json=order)
        assert created.status_code == 201, created.text
        number = created.json()["erp_number"]
        read = await deployed.system.get(f"{SALES_ORDERS}/{number}")
        assert (read.status_code, read.json()["external_reference"]) == (200, order["crm_id"])
    assert await deployed.injected() >= 20  # the faults did happen, and were ridden out
    assert (await breaker(deployed, "s4hana"))["state"] == "closed"
    await deployed.heal()
    for party in parties:
        key = odata_literal(party["crm_id"])
        found = await deployed.erp.query(
            "API_BUSINESS_PARTNER",
            "A_BusinessPartner",
            filter=f"BusinessPartnerIDByExtSystem eq {key}",
        )
        assert len(found) == 1  # retries never created a second partner
    for order in orders:
        key = odata_literal(order["crm_id"])
        found = await deployed.erp.query(
            "API_SALES_ORDER_SRV", "A_SalesOrder", filter=f"PurchaseOrderByCustomer eq {key}"
        )
        assert len(found) == 1


async def test_breaker_opens_at_threshold_fails_fast_and_closes_after_a_probe(
    deployed: Deployed,
) -> None:
    """ERP down: 3 failed calls open the breaker, then 503 + Retry-After without touching the
    ERP; after the reset timeout a failing probe reopens it and a succeeding one closes it."""
    customer = (await deployed.system.post(CUSTOMERS, json=a_party())).json()
    url = f"{CUSTOMERS}/{customer['erp_id']}"
    await deployed.faults({"route": ODATA, "error_rates": {"503": 1}})
    for failed in range(1, 4):
        response = await deployed.system.get(url)
        assert response.status_code == 503
        assert "retry-after" not in response.headers  # the ERP's own failure, retried
        assert (await breaker(deployed, "s4hana"))["failures"] == failed
    assert await deployed.injected() == 3 * 6  # three calls of six attempts each
    state = await breaker(deployed, "s4hana")
    assert (state["state"], state["retry_after_seconds"]) == ("open", 1)

    fast = await deployed.system.get(url)
    assert fast.status_code == 503
    assert fast.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert fast.headers["retry-after"] == "1"
    problem = fast.json()
    assert problem["type"].endswith("/backend-unavailable")
    assert "circuit breaker open" in problem["detail"]
    assert await deployed.injected() == 18  # failed fast: the ERP saw nothing
    assert (await breaker(deployed, "salesforce"))["state"] == "closed"

    await asyncio.sleep(BREAKER_RESET + 0.1)
    assert (await breaker(deployed, "s4hana"))["state"] == "half-open"
    probe = await deployed.system.get(url)
    assert (probe.status_code, "retry-after" in probe.headers) == (503, False)
    assert await deployed.injected() == 18 + 6  # the probe reached the ERP, and failed
    assert (await breaker(deployed, "s4hana"))["state"] == "open"

    await deployed.heal()
    assert (await deployed.system.get(url)).status_code == 503  # still open: fails fast
    await asyncio.sleep(BREAKER_RESET + 0.1)
    recovered = await deployed.system.get(url)
    assert (recovered.status_code, recovered.json()["erp_id"]) == (200, customer["erp_id"])
    state = await breaker(deployed, "s4hana")
    assert (state["state"], state["failures"], state["retry_after_seconds"]) == ("closed", 0, None)
