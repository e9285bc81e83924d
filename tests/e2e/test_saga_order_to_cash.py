"""Order-to-cash to the end: the ERP delivers, bills and is paid, and the case closes by itself.

The house runs embedded with its workers (the outbox relay and the case advancer); the test
starts a case, then plays the ERP's part through the sandbox (delivery, billing run,
incoming payment, credit release) and only reads the Process layer to see where cases are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.seed import s4_product
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

O2C = "/process/order-to-cash/v1"
HAPPY_PATH = [
    "captured",
    "validated",
    "customer_synced",
    "credit_checked",
    "erp_order_created",
    "fulfilled",
    "invoiced",
    "invoice_sent",
    "paid",
    "closed",
]


@dataclass
class Saga:
    """A running house with its workers, the two sandboxes, and clients to each."""

    http: httpx.AsyncClient
    crm: SalesforceClient
    erp: S4HanaClient
    erp_admin: httpx.AsyncClient
    store_url: str


@contextlib.asynccontextmanager
async def open_saga(
    tmp_path: Path, *, crm_changes: bool, retry_after: float = 30.0, erp_retry_timeout: float = 30.0
) -> AsyncIterator[Saga]:
    """The embedded house over fresh sandboxes, its advancer polling every 50 ms; with
    ``crm_changes`` it also follows the CRM's Order changes (activation starts a case).
    ``retry_after`` is how soon the advancer runs a failed step again, ``erp_retry_timeout``
    how long a call to the ERP is retried before the step fails."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp_path / "crm.sqlite3")))
        )
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        store_url = f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
        settings = Settings(
            database_url=store_url,
            salesforce={"base_url": crm_url},
            s4hana={
                "base_url": f"{erp_url}/sap/opu/odata/sap",
                "resilience": {"retry_timeout": erp_retry_timeout},
            },
            process={
                "advance_interval": 0.05,
                "relay_interval": 0.05,
                "retry_after_seconds": retry_after,
                "crm_changes": crm_changes,
            },
        )
        house = await stack.enter_async_context(
            open_house(settings, layers={Layer.SYSTEM, Layer.PROCESS})
        )
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=house.app), base_url="http://h")
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        auth = (settings.s4hana.username, settings.s4hana.password.get_secret_value())
        erp = S4HanaClient(base_url=settings.s4hana.base_url, username=auth[0], password=auth[1])
        erp_admin = httpx.AsyncClient(base_url=erp_url, auth=auth)
        for client in (http, crm, erp, erp_admin):
            stack.push_async_callback(client.aclose)
        yield Saga(http=http, crm=crm, erp=erp, erp_admin=erp_admin, store_url=store_url)


@pytest.fixture
async def saga(tmp_path: Path) -> AsyncIterator[Saga]:
    """A house whose cases these tests start through the API (CRM changes not followed)."""
    async with open_saga(tmp_path, crm_changes=False) as opened:
        yield opened


async def _crm_order(saga: Saga, quantity: int = 2) -> dict[str, str]:
    """An account and an order of ``quantity`` x 150.00 EUR in the CRM; the product in the ERP."""
    code = f"CUSTODY-{uuid.uuid4().hex[:8].upper()}"
    await saga.erp.create("API_PRODUCT_SRV", "A_Product", s4_product(code, "Custody account"))
    account = await saga.crm.create(
        "Account",
        {
            "Name": "Harbour Street Capital",
            "BillingStreet": "1 Harbour Street",
            "BillingCity": "Hamburg",
            "BillingPostalCode": "20457",
            "BillingCountry": "DE",
            "CurrencyIsoCode": "EUR",
        },
    )
    product = await saga.crm.create(
        "Product2", {"Name": "Custody account", "ProductCode": code, "IsActive": True}
    )
    order = await saga.crm.create(
        "Order",
        {
            "AccountId": account,
            "EffectiveDate": "2026-11-20",
            "Status": "Draft",
            "CurrencyIsoCode": "EUR",
        },
    )
    await saga.crm.create(
        "OrderItem",
        {"OrderId": order, "Product2Id": product, "Quantity": quantity, "UnitPrice": "150.00"},
    )
    await saga.crm.update("Order", order, {"Status": "Activated"})
    return {"account": account, "order": order}


async def _case(saga: Saga, order_id: str) -> dict[str, Any]:
    response = await saga.http.get(f"{O2C}/orders/{order_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _wait_for(saga: Saga, order_id: str, state: str) -> dict[str, Any]:
    """The case once it reached ``state`` (read only: the advancer moves it)."""
    case: dict[str, Any] = {}
    try:
        async with asyncio.timeout(15):
            while case.get("state") != state:
                await asyncio.sleep(0.05)
                case = await _case(saga, order_id)
    except TimeoutError:
        raise AssertionError(f"case stayed {case.get('state')}, wanted {state}: {case}") from None
    return case


async def _deliver_bill_and_pay(saga: Saga, case: dict[str, Any]) -> str:
    """The ERP's part: deliver, run billing, and post the customer's payment; the invoice."""
    number = case["erp_order_number"]
    delivered = await saga.erp_admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")
    assert delivered.is_success, delivered.text
    billed = await saga.erp_admin.post("/sandbox/admin/billing-run")
    assert billed.is_success, billed.text
    (invoice,) = await saga.erp.query(
        "API_BILLING_DOCUMENT_SRV",
        "A_BillingDocument",
        filter=f"PurchaseOrderByCustomer eq '{case['crm_order_id']}'",
    )
    document = str(invoice.properties["BillingDocument"])
    await saga.erp.create(
        "ZLB_INCOMING_PAYMENT_SRV",
        "IncomingPayment",
        {
            "Customer": case["customer_erp_id"],
            "AmountInTransactionCurrency": str(invoice.properties["TotalGrossAmount"]),
            "BillingDocument": document,
            "PaymentReference": f"PAY-{document}",
        },
    )
    return document


async def _events_of(saga: Saga, case_id: str) -> list[str]:
    """The event types the outbox holds for a case, in order."""
    engine = create_async_engine(saga.store_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT topic FROM outbox WHERE key = :key ORDER BY seq"), {"key": case_id}
            )
            return [row.topic for row in rows]
    finally:
        await engine.dispose()


async def _set_credit_limit(saga: Saga, account_id: str, limit: str) -> str:
    """The account as an ERP customer with a credit limit (through the System layer)."""
    party = (await saga.http.get(f"/system/crm-accounts/v1/accounts/{account_id}")).json()
    customer = await saga.http.post("/system/erp-customers/v1/customers", json=party)
    assert customer.is_success, customer.text
    erp_id = customer.json()["erp_id"]
    credit = await saga.http.post(
        "/system/erp-credit/v1/credit-limits",
        json={
            "customer_erp_id": erp_id,
            "credit_segment": "1000",
            "limit": {"amount": limit, "currency": "EUR"},
        },
    )
    assert credit.is_success, credit.text
    return str(erp_id)


async def test_clean_order_closes_after_the_erp_bills_and_is_paid(saga: Saga) -> None:
    """An order walks every state to closed as the ERP bills and is paid; kpis count it."""
    ids = await _crm_order(saga)
    started = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": ids["order"]})
    assert started.status_code == 201, started.text
    case = started.json()
    assert (case["state"], case["status"]) == ("erp_order_created", "in_erp")
    assert [t["state"] for t in case["timeline"]] == HAPPY_PATH[:5]

    document = await _deliver_bill_and_pay(saga, case)

    closed = await _wait_for(saga, ids["order"], "closed")
    assert [t["state"] for t in closed["timeline"]] == HAPPY_PATH
    assert closed["status"] == "closed"
    assert closed["invoice_erp_number"] == document
    assert closed["closed_at"] is not None
    assert Decimal(closed["order_total"]) == Decimal("300.00")
    assert await _events_of(saga, case["case_id"]) == [
        "order.accepted",
        "invoice.issued",
        "payment.received",
        "order.closed",
    ]

    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ledgerbridge",
        "kpis",
        "--json",
        env={**os.environ, "LEDGERBRIDGE_DATABASE_URL": saga.store_url},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await cli.communicate()
    assert cli.returncode == 0
    figures = json.loads(out)
    assert (figures["closed_cases"], figures["straight_through_rate"]) == (1, 1.0)


async def test_referred_order_is_approved_and_closes(saga: Saga) -> None:
    """An order over the limit is referred with its figures, approved, released and closes."""
    ids = await _crm_order(saga, quantity=4)
    await _set_credit_limit(saga, ids["account"], "100.00")
    started = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": ids["order"]})
    case = started.json()
    assert (case["state"], case["status"]) == ("referred", "credit_hold"), case

    queue = (await saga.http.get(f"{O2C}/reviews")).json()["items"]
    (item,) = [i for i in queue if i["crm_order_id"] == ids["order"]]
    assert item["kind"] == "credit"
    assert item["actions"] == ["approve", "reject"]
    assert item["figures"]["order_total"] == "600.00 EUR"
    assert item["figures"]["credit_limit"] == "100.00 EUR"
    assert item["figures"]["available"] == "100.00 EUR"

    approved = await saga.http.post(
        f"{O2C}/reviews/{item['review_id']}/approval", json={"actor": "credit-desk"}
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["resolved_by"]) == (
        "approved",
        "credit-desk",
    )
    # The block is released in the ERP; the advancer sees it and the order goes on.
    await saga.erp.call(
        "API_SALES_ORDER_SRV", "releaseCreditBlock", {"SalesOrder": case["erp_order_number"]}
    )
    accepted = await _wait_for(saga, ids["order"], "erp_order_created")
    await _deliver_bill_and_pay(saga, accepted)
    closed = await _wait_for(saga, ids["order"], "closed")
    assert [t["state"] for t in closed["timeline"]][:5] == [
        "captured",
        "validated",
        "customer_synced",
        "referred",
        "credit_checked",
    ]
    kpis = (await saga.http.get(f"{O2C}/kpis")).json()
    assert kpis["closed_cases"] == 1
    assert kpis["straight_through_rate"] == 0.0
    assert kpis["manual_intervention_rate"] == 1.0
    assert kpis["exception_resolution_time"]["count"] == 1


async def test_rejected_referral_ends_the_case_and_says_what_was_compensated(
    saga: Saga,
) -> None:
    """Rejecting a referral ends the case rejected; a second, different decision is a 409."""
    ids = await _crm_order(saga, quantity=4)
    await _set_credit_limit(saga, ids["account"], "100.00")
    case = (await saga.http.post(f"{O2C}/orders", json={"crm_order_id": ids["order"]})).json()
    (item,) = (await saga.http.get(f"{O2C}/reviews")).json()["items"]

    rejected = await saga.http.post(
        f"{O2C}/reviews/{item['review_id']}/rejection",
        json={"actor": "credit-desk", "note": "over limit, no collateral"},
    )
    assert rejected.json()["status"] == "rejected"
    again = await saga.http.post(
        f"{O2C}/reviews/{item['review_id']}/rejection", json={"actor": "credit-desk"}
    )
    assert again.status_code == 200
    late = await saga.http.post(
        f"{O2C}/reviews/{item['review_id']}/approval", json={"actor": "someone-else"}
    )
    assert late.status_code == 409

    ended = await _case(saga, ids["order"])
    assert (ended["state"], ended["status"]) == ("rejected", "cancelled")
    assert ended["steps"][-1]["name"] == "cancel-erp-order"
    assert "order.rejected" in await _events_of(saga, case["case_id"])
    assert (await saga.http.get(f"{O2C}/reviews")).json()["items"] == []
