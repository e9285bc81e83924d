"""Order-to-cash through all three layers with a real Tryton behind the ERP System APIs.

The house is embedded (layers over ASGI), the CRM is the sandbox, and the ERP is trytond
serving a copy of the ready template (one server per module). Nothing above the System APIs
knows which ERP it is: only the settings say ``erp="tryton"``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_credit.client import ErpCreditClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.apis.system.erp_sales_orders.client import ErpSalesOrdersClient
from ledgerbridge.bootstrap import open_house
from ledgerbridge.canonical import InvoiceStatus, Money, OrderStatus, Payment
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.connectors.tryton import TrytonClient, TrytonRecord
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.tryton_setup import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    TrytonServer,
    start_ready_server,
    tryton_installed,
)

CACHE = Path(__file__).resolve().parents[2] / "var" / "tryton"
ORDERS = "/process/order-to-cash/v1/orders"

# Each module starts its own trytond on a port.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tryton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    """trytond serving a fresh copy of the template database, for this module."""
    if not tryton_installed():
        pytest.skip("Tryton is not installed: pip install -e '.[tryton]' to run these tests")
    with start_ready_server(CACHE, tmp_path_factory.mktemp("tryton")) as server:
        yield server


@pytest.fixture(scope="module")
def crm_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CRM sandbox database for the module: its ids never repeat within one Tryton."""
    return tmp_path_factory.mktemp("crm") / "crm.sqlite3"


@dataclass
class TrytonHouse:
    """The embedded house on Tryton, the CRM behind it, and Tryton seen as its administrator."""

    http: httpx.AsyncClient
    crm: SalesforceClient
    tryton: TrytonClient


@pytest.fixture
async def house(
    tryton_server: TrytonServer, crm_database: Path, tmp_path: Path
) -> AsyncIterator[TrytonHouse]:
    """Every API in this process, with the CRM sandbox and Tryton as the ERP."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(serving(create_crm(database=str(crm_database))))
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}",
            salesforce={"base_url": crm_url},
            erp="tryton",
            tryton={"base_url": tryton_server.base_url, "database": tryton_server.database},
        )
        built = await stack.enter_async_context(open_house(settings))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=built.app), base_url="http://h")
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        tryton = await stack.enter_async_context(
            TrytonClient(
                base_url=tryton_server.base_url,
                database=tryton_server.database,
                username=ADMIN_LOGIN,
                password=ADMIN_PASSWORD,
            )
        )
        for client in (http, crm):
            stack.push_async_callback(client.aclose)
        yield TrytonHouse(http=http, crm=crm, tryton=tryton)


async def _crm_order(crm: SalesforceClient, lines: list[tuple[str, int, str]]) -> dict[str, str]:
    """An account and an order in USD for the template's products: (code, quantity, price)."""
    suffix = uuid.uuid4().hex[:6].upper()
    account_id = await crm.create(
        "Account",
        {
            "Name": f"Meridian Capital {suffix}",
            "BillingStreet": "12 Taunusanlage",
            "BillingCity": "Frankfurt am Main",
            "BillingPostalCode": "60325",
            "BillingCountry": "DE",
            "CurrencyIsoCode": "USD",
        },
    )
    order_id = await crm.create(
        "Order",
        {
            "AccountId": account_id,
            "EffectiveDate": "2026-11-20",
            "Status": "Draft",
            "CurrencyIsoCode": "USD",
            "PoNumber": f"PO-{suffix}",
        },
    )
    for code, quantity, price in lines:
        product_id = await crm.create(
            "Product2",
            {"Name": code, "ProductCode": code, "IsActive": True, "QuantityUnitOfMeasure": "Each"},
        )
        await crm.create(
            "OrderItem",
            {
                "OrderId": order_id,
                "Product2Id": product_id,
                "Quantity": quantity,
                "UnitPrice": price,
            },
        )
    return {"account": account_id, "order": order_id, "po": f"PO-{suffix}"}


async def _sales(tryton: TrytonClient, crm_order_id: str) -> list[TrytonRecord]:
    return await tryton.search_read(
        "sale.sale",
        [["reference", "=", crm_order_id]],
        ["state", "party", "description", "untaxed_amount", "invoices", "comment"],
    )


async def test_order_becomes_a_confirmed_tryton_sale_and_the_portal_shows_it(
    house: TrytonHouse,
) -> None:
    """A CRM order comes out as one processed Tryton sale with an invoice, linked back, visible."""
    ids = await _crm_order(house.crm, [("LB-100", 3, "199.90"), ("LB-300", 2, "49.50")])

    response = await house.http.post(ORDERS, json={"crm_order_id": ids["order"]})
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["status"] == "in_erp"
    assert [s["name"] for s in case["steps"]] == [
        "ensure-customer",
        "create-sales-order",
        "link-crm-order",
    ]

    (sale,) = await _sales(house.tryton, ids["order"])
    assert str(sale.id) == case["erp_order_number"]
    assert str(sale["party"]) == case["customer_erp_id"]
    assert sale["state"] == "processing"
    assert sale["description"] == ids["po"]
    assert sale["untaxed_amount"] == Decimal("698.70")
    assert len(sale["invoices"]) == 1
    party = await house.tryton.find_party_by_identifier(ids["account"], ["name"])
    assert party is not None
    assert party.id == sale["party"]

    crm_order = await house.crm.get("Order", ids["order"])
    assert crm_order.fields["ERP_Order_Number__c"] == case["erp_order_number"]
    portal = await house.http.get(f"/experience/customer-portal/v1/orders/{ids['order']}/status")
    assert portal.status_code == 200
    assert (portal.json()["status"], portal.json()["erp_order_number"]) == (
        "in_erp",
        case["erp_order_number"],
    )


async def test_running_twice_leaves_exactly_one_tryton_sale(house: TrytonHouse) -> None:
    """A second run of the same order answers 200 with the same case and creates nothing."""
    ids = await _crm_order(house.crm, [("LB-200", 1, "1200.00")])
    first = await house.http.post(ORDERS, json={"crm_order_id": ids["order"]})
    second = await house.http.post(ORDERS, json={"crm_order_id": ids["order"]})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["case_id"] == first.json()["case_id"]
    assert len(await _sales(house.tryton, ids["order"])) == 1


async def test_order_over_the_credit_limit_ends_in_review_with_trytons_reason(
    house: TrytonHouse,
) -> None:
    """A customer with a 1000.00 limit orders 2400.00: the case is credit_hold, the sale a
    quotation carrying Tryton's reason, and the portal says the order is under review."""
    ids = await _crm_order(house.crm, [("LB-200", 2, "1200.00")])
    # The customer exists in Tryton already, with a credit limit, under its CRM id.
    await house.tryton.create(
        "party.party",
        [
            {
                "name": "Limited Ltd",
                "identifiers": [["create", [{"code": ids["account"]}]]],
                "addresses": [["create", [{"street": "1 Main Street", "city": "Springfield"}]]],
                "credit_limit_amount": Decimal("1000.00"),
            }
        ],
    )

    response = await house.http.post(ORDERS, json={"crm_order_id": ids["order"]})
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["status"] == "credit_hold"

    (sale,) = await _sales(house.tryton, ids["order"])
    assert str(sale.id) == case["erp_order_number"]
    assert sale["state"] == "quotation"
    assert 'The party "Limited Ltd" will exceed their $1000.00 credit limit' in sale["comment"]
    portal = await house.http.get(f"/experience/customer-portal/v1/orders/{ids['order']}/status")
    assert (portal.json()["status"], portal.json()["label"]) == (
        "credit_hold",
        "Order under review",
    )
    again = await house.http.post(ORDERS, json={"crm_order_id": ids["order"]})
    assert (again.status_code, again.json()["status"]) == (200, "credit_hold")
    assert len(await _sales(house.tryton, ids["order"])) == 1


async def test_invoice_payment_and_close_through_the_erp_system_apis(house: TrytonHouse) -> None:
    """Tryton's invoice is read, paid and cleared through the System APIs; the order closes."""
    ids = await _crm_order(house.crm, [("LB-100", 2, "250.00")])
    response = await house.http.post(ORDERS, json={"crm_order_id": ids["order"]})
    assert response.status_code == 201, response.text
    case = response.json()
    (sale,) = await _sales(house.tryton, ids["order"])
    [invoice_id] = sale["invoices"]
    # Posting is Tryton's billing run, done by its users: it issues the invoice.
    await house.tryton.button("account.invoice", "post", [invoice_id])

    billing = ErpBillingDocumentsClient(house.http)
    found = await billing.list_invoices(po_number=ids["po"])
    [invoice] = found.items
    assert (invoice.erp_number, invoice.order_erp_number) == (
        str(invoice_id),
        case["erp_order_number"],
    )
    assert (invoice.gross_total, invoice.status) == (
        Money(amount=Decimal("500.00"), currency="USD"),
        InvoiceStatus.OPEN,
    )
    receivables = ErpReceivablesClient(house.http)
    [item] = (await receivables.list_receivables(invoice_erp_number=invoice.erp_number)).items
    assert (item.amount, item.cleared) == (invoice.gross_total, False)

    payment = await receivables.post_payment(
        Payment(
            customer_erp_id=case["customer_erp_id"],
            payment_date=invoice.invoice_date,
            amount=invoice.gross_total,
            reference=f"PAY-{ids['po']}",
            invoice_erp_numbers=[invoice.erp_number],
        )
    )
    assert payment.invoice_erp_numbers == [invoice.erp_number]
    assert (await billing.get_invoice(invoice.erp_number)).status is InvoiceStatus.PAID
    cleared = await receivables.list_receivables(invoice_erp_number=invoice.erp_number)
    assert all(i.cleared for i in cleared.items)
    sales_order = await ErpSalesOrdersClient(house.http).get_sales_order(case["erp_order_number"])
    assert sales_order.status is OrderStatus.CLOSED


async def test_credit_exposure_through_the_erp_system_api(house: TrytonHouse) -> None:
    """The credit API reads a Tryton customer's limit and exposure in the house's segment."""
    ids = await _crm_order(house.crm, [("LB-300", 4, "95.50")])
    await house.tryton.create(
        "party.party",
        [
            {
                "name": "Exposed Ltd",
                "identifiers": [["create", [{"code": ids["account"]}]]],
                "addresses": [["create", [{"street": "1 Main Street", "city": "Springfield"}]]],
                "credit_limit_amount": Decimal("5000.00"),
            }
        ],
    )
    response = await house.http.post(ORDERS, json={"crm_order_id": ids["order"]})
    assert response.status_code == 201, response.text
    customer = response.json()["customer_erp_id"]
    exposure = await ErpCreditClient(house.http).get_credit_exposure(customer, "1000")
    assert exposure.limit == Money(amount=Decimal("5000.00"), currency="USD")
    # The confirmed sale counts against the limit until it is invoiced and paid.
    assert exposure.exposure == Money(amount=Decimal("382.00"), currency="USD")
