"""credit-verification over HTTP, in front of the ERP sandbox, on SQLite and PostgreSQL.

The ERP's clock is the test's: an invoice billed "days ago" is due, or overdue, today.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.erp import create_app as create_erp

CV = "/process/credit-verification/v1"
PROBLEM = "application/problem+json"


class ErpClock:
    """The ERP sandbox's time: now, or ``days_ago`` days before now."""

    def __init__(self) -> None:
        self.days_ago = 0

    def __call__(self) -> datetime:
        return datetime.now(UTC) - timedelta(days=self.days_ago)


@dataclass
class World:
    """The System and Process layers over the ERP sandbox, and a back door to the ERP."""

    http: httpx.AsyncClient
    s4: S4HanaClient
    admin: httpx.AsyncClient
    clock: ErpClock
    sku: str

    async def customer(self, limit: str | None = None) -> str:
        """A new ERP customer, with a credit limit in EUR when ``limit`` is given."""
        created = await self.s4.create(
            "API_BUSINESS_PARTNER",
            "A_BusinessPartner",
            {
                "BusinessPartnerCategory": "2",
                "OrganizationBPName1": "Harbour Lane Capital",
                "BusinessPartnerIDByExtSystem": uuid.uuid4().hex[:10],
                "to_BusinessPartnerAddress": [
                    {"StreetName": "Am Sandtorkai 4", "CityName": "Hamburg", "Country": "DE"}
                ],
                "to_Customer": {"CustomerName": "Harbour Lane Capital"},
            },
        )
        customer = str(created.properties["BusinessPartner"])
        if limit is not None:
            response = await self.http.post(
                "/system/erp-credit/v1/credit-limits",
                json={
                    "customer_erp_id": customer,
                    "credit_segment": "1000",
                    "limit": {"amount": limit, "currency": "EUR"},
                },
            )
            assert response.is_success, response.text
        return customer

    async def sales_order(self, customer: str, amount: str) -> str:
        """An open sales order of ``amount`` EUR; its number."""
        order = await self.s4.create(
            "API_SALES_ORDER_SRV",
            "A_SalesOrder",
            {
                "SalesOrderType": "OR",
                "SalesOrganization": "1010",
                "DistributionChannel": "10",
                "OrganizationDivision": "00",
                "SoldToParty": customer,
                "PurchaseOrderByCustomer": uuid.uuid4().hex[:12],
                "TransactionCurrency": "EUR",
                "to_Item": [
                    {
                        "Material": self.sku,
                        "RequestedQuantity": "1",
                        "to_PricingElement": [
                            {"ConditionType": "PR00", "ConditionRateValue": amount}
                        ],
                    }
                ],
            },
        )
        return str(order.properties["SalesOrder"])

    async def invoice(self, customer: str, amount: str, *, days_ago: int) -> None:
        """An order of ``amount`` EUR delivered and billed ``days_ago`` days ago (due 30 days
        after billing)."""
        self.clock.days_ago = days_ago
        try:
            number = await self.sales_order(customer, amount)
            delivered = await self.admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")
            delivered.raise_for_status()
            (await self.admin.post("/sandbox/admin/billing-run")).raise_for_status()
        finally:
            self.clock.days_ago = 0

    async def decide(self, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        """POST a decision request with a fresh (or the given) Idempotency-Key."""
        headers = {"Idempotency-Key": f'"{key or uuid.uuid4()}"'}
        return await self.http.post(f"{CV}/decisions", json=body, headers=headers)


@contextlib.asynccontextmanager
async def open_world(
    tmp_path: Path, database_url: str, rules_file: Path | None = None
) -> AsyncIterator[World]:
    """A fresh ERP sandbox, the store, and the house without workers, under ``rules_file``."""
    clock = ErpClock()
    async with contextlib.AsyncExitStack() as stack:
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3"), clock=clock))
        )
        settings = Settings(
            database_url=database_url,
            s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap"},
            process={"workers": False, "credit_rules_file": rules_file},
        )
        house = await stack.enter_async_context(
            open_house(settings, layers={Layer.SYSTEM, Layer.PROCESS})
        )
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=house.app), base_url="http://h")
        auth = (settings.s4hana.username, settings.s4hana.password.get_secret_value())
        s4 = S4HanaClient(base_url=settings.s4hana.base_url, username=auth[0], password=auth[1])
        admin = httpx.AsyncClient(base_url=erp_url, auth=auth)
        for client in (http, s4, admin):
            stack.push_async_callback(client.aclose)
        sku = f"FX-{uuid.uuid4().hex[:8].upper()}"
        await s4.create("API_PRODUCT_SRV", "A_Product", {"Product": sku, "BaseUnit": "EA"})
        yield World(http=http, s4=s4, admin=admin, clock=clock, sku=sku)


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    """The world under the default rules, on each database."""
    async with open_world(tmp_path, database_url) as opened:
        yield opened


def _order(customer: str, amount: str, **extra: str) -> dict[str, Any]:
    return {"customer_erp_id": customer, "amount": {"amount": amount, "currency": "EUR"}} | extra


def _money(figure: dict[str, str]) -> tuple[Decimal, str]:
    return Decimal(figure["amount"]), figure["currency"]


async def test_an_order_well_inside_the_limit_is_approved_and_recorded(world: World) -> None:
    """Approve with no reasons; the figures count open orders and receivables; the record
    reads back by id and in the customer's list."""
    customer = await world.customer(limit="10000.00")
    await world.sales_order(customer, "1000.00")
    await world.invoice(customer, "500.00", days_ago=0)

    response = await world.decide(_order(customer, "2000.00", order_id="801000000000001AAA"))
    assert response.status_code == 201, response.text
    decision = response.json()
    assert (decision["verdict"], decision["reasons"]) == ("approve", [])
    figures = decision["figures"]
    assert _money(figures["credit_limit"]) == (Decimal("10000.00"), "EUR")
    assert _money(figures["exposure"]) == (Decimal("1500.00"), "EUR")
    assert _money(figures["open_receivables"]) == (Decimal("500.00"), "EUR")
    assert _money(figures["open_orders"]) == (Decimal("1000.00"), "EUR")
    assert _money(figures["headroom_after"]) == (Decimal("6500.00"), "EUR")
    assert (figures["overdue_items"], figures["account_blocked"]) == (0, False)

    read = await world.http.get(f"{CV}/decisions/{decision['decision_id']}")
    assert read.status_code == 200
    assert read.json() == decision
    listed = (await world.http.get(f"{CV}/customers/{customer}/decisions")).json()
    assert [d["decision_id"] for d in listed["items"]] == [decision["decision_id"]]
    assert listed["items"][0]["order_id"] == "801000000000001AAA"


async def test_an_order_near_the_limit_is_referred(world: World) -> None:
    """Leaving under 10% of the limit free refers the order, saying how much is left."""
    customer = await world.customer(limit="1000.00")
    await world.sales_order(customer, "200.00")

    decision = (await world.decide(_order(customer, "750.00"))).json()
    assert decision["verdict"] == "refer"
    assert [r["rule"] for r in decision["reasons"]] == ["referral_band"]
    assert _money(decision["figures"]["headroom_after"]) == (Decimal("50.00"), "EUR")
    assert "50.00 EUR" in decision["reasons"][0]["message"]


async def test_an_order_over_the_limit_is_rejected(world: World) -> None:
    """Exposure plus the order over the limit rejects, with the amount over."""
    customer = await world.customer(limit="1000.00")
    await world.sales_order(customer, "400.00")

    decision = (await world.decide(_order(customer, "700.00"))).json()
    assert decision["verdict"] == "reject"
    (reason,) = decision["reasons"]
    assert (reason["rule"], reason["verdict"]) == ("over_limit", "reject")
    assert "100.00 EUR over the limit" in reason["message"]
    assert _money(decision["figures"]["headroom_after"]) == (Decimal("-100.00"), "EUR")


async def test_the_orders_own_erp_order_is_not_counted_twice(world: World) -> None:
    """Naming the order's ERP sales order takes its value out of the ERP's exposure."""
    customer = await world.customer(limit="1000.00")
    number = await world.sales_order(customer, "600.00")

    decision = (await world.decide(_order(customer, "600.00", erp_order_number=number))).json()
    assert decision["verdict"] == "approve"
    assert _money(decision["figures"]["exposure"]) == (Decimal("0.00"), "EUR")
    assert decision["erp_order_number"] == number


async def test_overdue_items_refer_and_long_overdue_items_reject(world: World) -> None:
    """An invoice 10 days past due refers; one 170 days past due rejects."""
    late = await world.customer(limit="100000.00")
    await world.invoice(late, "250.00", days_ago=40)
    decision = (await world.decide(_order(late, "100.00"))).json()
    assert decision["verdict"] == "refer"
    assert [r["rule"] for r in decision["reasons"]] == ["overdue_amount"]
    figures = decision["figures"]
    assert (figures["overdue_items"], figures["oldest_overdue_days"]) == (1, 10)
    assert _money(figures["overdue_amount"]) == (Decimal("250.00"), "EUR")

    very_late = await world.customer(limit="100000.00")
    await world.invoice(very_late, "250.00", days_ago=200)
    decision = (await world.decide(_order(very_late, "100.00"))).json()
    assert decision["verdict"] == "reject"
    assert {r["rule"]: r["verdict"] for r in decision["reasons"]} == {
        "overdue_days": "reject",
        "overdue_amount": "refer",
    }
    assert decision["figures"]["oldest_overdue_days"] == 170


async def test_a_blocked_credit_account_is_rejected(world: World) -> None:
    """The ERP blocks the customer's credit account: reject, however much is free."""
    customer = await world.customer()
    blocked = await world.http.post(
        "/system/erp-credit/v1/credit-limits",
        json={
            "customer_erp_id": customer,
            "credit_segment": "1000",
            "limit": {"amount": "100000.00", "currency": "EUR"},
            "blocked": True,
        },
    )
    assert blocked.is_success, blocked.text
    decision = (await world.decide(_order(customer, "10.00"))).json()
    assert decision["verdict"] == "reject"
    assert [r["rule"] for r in decision["reasons"]] == ["blocked_account"]
    assert decision["figures"]["account_blocked"] is True


async def test_a_customer_without_a_credit_limit_is_approved_as_the_erp_does(
    world: World,
) -> None:
    """No credit account: approve, and the reason says no limit applied."""
    customer = await world.customer()
    decision = (await world.decide(_order(customer, "100.00"))).json()
    assert decision["verdict"] == "approve"
    assert [r["rule"] for r in decision["reasons"]] == ["no_credit_limit"]
    assert decision["figures"]["credit_limit"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_order("1000000", "-5.00"), "amount"),
        (_order("not a customer!", "5.00"), "customer_erp_id"),
        (
            {"customer_erp_id": "1000000", "amount": {"amount": "5.00", "currency": "EURO"}},
            "amount.currency",
        ),
        ({"amount": {"amount": "5.00", "currency": "EUR"}}, "customer_erp_id"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    world: World, body: dict[str, Any], field: str
) -> None:
    """422 problem+json whose errors name the offending field; nothing is recorded."""
    response = await world.decide(body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    assert field in [e["field"] for e in response.json()["errors"]]
    listed = (await world.http.get(f"{CV}/customers/1000000/decisions")).json()
    assert listed["items"] == []


async def test_an_erp_order_of_someone_else_is_a_problem_naming_the_field(world: World) -> None:
    """An erp_order_number that is not the customer's (or not at all) is a 422 on that field."""
    customer = await world.customer(limit="1000.00")
    other = await world.sales_order(await world.customer(), "10.00")
    for number in (other, "9999999"):
        response = await world.decide(_order(customer, "10.00", erp_order_number=number))
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["erp_order_number"]
    listed = (await world.http.get(f"{CV}/customers/{customer}/decisions")).json()
    assert listed["items"] == []


async def test_a_decision_request_needs_an_idempotency_key(world: World) -> None:
    """Without an Idempotency-Key the POST is a 400 problem."""
    customer = await world.customer(limit="1000.00")
    response = await world.http.post(f"{CV}/decisions", json=_order(customer, "10.00"))
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]


async def test_the_same_key_replays_the_first_decision(world: World) -> None:
    """A retry with the same key answers the first decision again and records nothing more,
    even after the figures changed; the same key with another body is a 422."""
    customer = await world.customer(limit="1000.00")
    first = await world.decide(_order(customer, "100.00"), key="order-42-credit")
    await world.sales_order(customer, "880.00")
    again = await world.decide(_order(customer, "100.00"), key="order-42-credit")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = await world.decide(_order(customer, "200.00"), key="order-42-credit")
    assert other.status_code == 422

    listed = (await world.http.get(f"{CV}/customers/{customer}/decisions")).json()
    assert len(listed["items"]) == 1
    fresh = (await world.decide(_order(customer, "100.00"))).json()
    assert fresh["verdict"] == "refer"


async def test_a_customers_decisions_page_newest_first(world: World) -> None:
    """Three decisions come back over two pages, newest first, each once."""
    customer = await world.customer(limit="100000.00")
    ids = [
        (await world.decide(_order(customer, f"{n}.00"))).json()["decision_id"] for n in (1, 2, 3)
    ]

    first = (
        await world.http.get(f"{CV}/customers/{customer}/decisions", params={"limit": 2})
    ).json()
    assert first["next_cursor"] is not None
    second = (
        await world.http.get(
            f"{CV}/customers/{customer}/decisions",
            params={"limit": 2, "cursor": first["next_cursor"]},
        )
    ).json()
    assert second["next_cursor"] is None
    assert [d["decision_id"] for d in first["items"] + second["items"]] == ids[::-1]

    bad = await world.http.get(f"{CV}/customers/{customer}/decisions", params={"cursor": "e30x"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


async def test_an_unknown_decision_is_a_404_problem(world: World) -> None:
    """Reading a decision that was never taken is a 404 problem+json."""
    response = await world.http.get(f"{CV}/decisions/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_rules_come_from_the_configured_file(tmp_path: Path, database_url: str) -> None:
    """A rules file refers over-limit orders and widens the referral band; each decision
    carries the settings it was taken under."""
    rules = tmp_path / "credit-rules.toml"
    rules.write_text('over_limit = "refer"\nreferral_band = "0.50"\n')
    async with open_world(tmp_path, database_url, rules) as strict:
        customer = await strict.customer(limit="1000.00")
        over = (await strict.decide(_order(customer, "1500.00"))).json()
        assert [(r["rule"], r["verdict"]) for r in over["reasons"]] == [("over_limit", "refer")]
        assert over["verdict"] == "refer"
        assert (over["rules"]["over_limit"], over["rules"]["referral_band"]) == ("refer", "0.50")
        near = (await strict.decide(_order(customer, "600.00"))).json()
        assert [r["rule"] for r in near["reasons"]] == ["referral_band"]
