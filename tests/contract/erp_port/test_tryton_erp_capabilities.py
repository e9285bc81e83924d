"""TrytonErp's optional capabilities on a real Tryton: products, prices, billing, receivables
and credit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
from tests.contract.erp_port.conftest import crm_id

from ledgerbridge.apis.system._erp import TrytonErp
from ledgerbridge.apis.system._erp.port import (
    ErpBilling,
    ErpCredit,
    ErpPricing,
    ErpProducts,
    ErpReceivables,
)
from ledgerbridge.canonical import (
    CreditLimit,
    InvoiceStatus,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Product,
)
from ledgerbridge.connectors.tryton import TrytonClient, TrytonUserError
from ledgerbridge.runtime.errors import BackendRejected, NotFound, PreconditionFailed
from ledgerbridge.tryton_setup import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    CUSTOMERS,
    INTEGRATION_LOGIN,
    INTEGRATION_PASSWORD,
    PAYMENT_METHOD_NAME,
    PAYMENT_TERM_NAME,
    PRODUCT_CATEGORY_NAME,
    TrytonServer,
)

pytestmark = pytest.mark.slow


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def _erp(server: TrytonServer, username: str, password: str) -> TrytonErp:
    client = TrytonClient(
        base_url=server.base_url, database=server.database, username=username, password=password
    )
    return TrytonErp(
        client,
        payment_term=PAYMENT_TERM_NAME,
        payment_method=PAYMENT_METHOD_NAME,
        product_category=PRODUCT_CATEGORY_NAME,
    )


@pytest.fixture
async def erp(tryton_server: TrytonServer) -> AsyncIterator[TrytonErp]:
    """The adapter as the integration user."""
    adapter = _erp(tryton_server, INTEGRATION_LOGIN, INTEGRATION_PASSWORD)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def credit_admin(tryton_server: TrytonServer) -> AsyncIterator[TrytonErp]:
    """The adapter as Tryton's administrator, who may set credit limits."""
    adapter = _erp(tryton_server, ADMIN_LOGIN, ADMIN_PASSWORD)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def tryton(tryton_server: TrytonServer) -> AsyncIterator[TrytonClient]:
    """The connector as the integration user, to post and pay invoices as Tryton's users do."""
    async with TrytonClient(
        base_url=tryton_server.base_url,
        database=tryton_server.database,
        username=INTEGRATION_LOGIN,
        password=INTEGRATION_PASSWORD,
    ) as client:
        yield client


async def _sale_invoice(
    erp: TrytonErp, tryton: TrytonClient, po_number: str, *, post: bool = True
) -> str:
    """A sale of two LB-100 at 250.00 to Initech (no credit limit); its invoice, posted or not."""
    customer = await tryton.find_party_by_identifier(CUSTOMERS[2].crm_id)
    assert customer is not None
    order = Order(
        crm_id=crm_id("801"),
        customer_erp_id=str(customer.id),
        order_date=date(2026, 11, 20),
        currency="USD",
        status=OrderStatus.ACTIVATED,
        po_number=po_number,
        lines=[
            OrderLine(
                line_number=1,
                product_sku="LB-100",
                quantity=Decimal(2),
                unit="EA",
                unit_price=usd("250.00"),
                net_amount=usd("500.00"),
            )
        ],
        net_total=usd("500.00"),
    )
    state, _ = await erp.create_sales_order(order)
    assert state.erp_number is not None
    [sale] = await tryton.read("sale.sale", [int(state.erp_number)], ["invoices"])
    [invoice_id] = sale["invoices"]
    if post:
        await tryton.button("account.invoice", "post", [invoice_id])
    return str(invoice_id)


def test_tryton_offers_every_capability() -> None:
    """The adapter claims every optional capability of the port."""
    offered = {
        capability.__name__
        for capability in (ErpBilling, ErpCredit, ErpPricing, ErpProducts, ErpReceivables)
        if issubclass(TrytonErp, capability)
    }
    assert offered == {"ErpBilling", "ErpCredit", "ErpPricing", "ErpProducts", "ErpReceivables"}


async def test_sale_invoice_reads_back_with_its_sale_and_amounts(
    erp: TrytonErp, tryton: TrytonClient
) -> None:
    """A posted invoice: its sale, PO number, accounting document, totals and items."""
    po_number = crm_id("PO-")
    number = await _sale_invoice(erp, tryton, po_number)
    versioned = await erp.get_invoice(number)
    invoice = versioned.record
    assert versioned.etag
    assert invoice.status is InvoiceStatus.OPEN
    assert invoice.po_number == po_number
    assert invoice.order_erp_number is not None
    assert invoice.accounting_document
    assert invoice.fiscal_year == str(invoice.invoice_date.year)
    assert invoice.due_date is not None
    assert (invoice.due_date - invoice.invoice_date).days == 30
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        usd("500.00"),
        usd("0"),
        usd("500.00"),
    )
    assert [(line.product_sku, line.quantity, line.unit) for line in invoice.lines] == [
        ("LB-100", Decimal(2), "EA")
    ]
    found = await erp.list_invoices(
        customer_erp_id=invoice.customer_erp_id,
        po_number=po_number,
        status=None,
        changed_since=None,
        offset=0,
        limit=10,
    )
    assert [i.erp_number for i in found] == [number]


async def test_partly_paid_invoice_is_listed_as_such_and_will_not_cancel(
    erp: TrytonErp, tryton: TrytonClient
) -> None:
    """Paying 100.00 of 500.00 makes the invoice partially paid; cancelling it is refused."""
    po_number = crm_id("PO-")
    number = await _sale_invoice(erp, tryton, po_number)
    [method] = await tryton.search(
        "account.invoice.payment.method", [["name", "=", PAYMENT_METHOD_NAME]]
    )
    async with tryton.wizard(
        "account.invoice.pay", model="account.invoice", ids=[int(number)]
    ) as pay:
        await pay.press("choice", {"payment_method": method, "amount": Decimal("100.00")})
        await pay.press("pay", {"type": "partial"})

    assert (await erp.get_invoice(number)).record.status is InvoiceStatus.PARTIALLY_PAID
    for status, expected in ((InvoiceStatus.PARTIALLY_PAID, [number]), (InvoiceStatus.OPEN, [])):
        listed = await erp.list_invoices(
            customer_erp_id=None,
            po_number=po_number,
            status=status,
            changed_since=None,
            offset=0,
            limit=10,
        )
        assert [i.erp_number for i in listed] == expected
    with pytest.raises(BackendRejected):
        await erp.cancel_invoice(number)


async def test_unknown_or_draft_invoices_are_not_found(
    erp: TrytonErp, tryton: TrytonClient
) -> None:
    """Only issued invoices exist for the port: a draft one is not found, nor an unknown id."""
    draft = await _sale_invoice(erp, tryton, crm_id("PO-"), post=False)
    for number in (draft, "999999", "INV-1"):
        with pytest.raises(NotFound):
            await erp.get_invoice(number)


async def test_credit_limit_and_exposure_of_a_demo_customer(
    erp: TrytonErp, tryton: TrytonClient
) -> None:
    """Globex's 50000.00 limit is listed and read in the one segment; others are not found."""
    party = await tryton.find_party_by_identifier(CUSTOMERS[1].crm_id)
    assert party is not None
    customer = str(party.id)
    limit = await erp.get_credit_limit(customer, "1000")
    assert limit.record == CreditLimit(
        customer_erp_id=customer, credit_segment="1000", limit=usd("50000.00")
    )
    listed = await erp.list_credit_limits(
        customer_erp_id=customer, blocked=None, offset=0, limit=10
    )
    assert listed == [limit.record]
    assert (
        await erp.list_credit_limits(customer_erp_id=None, blocked=True, offset=0, limit=10) == []
    )
    exposure = await erp.get_credit_exposure(customer, "1000")
    assert exposure.limit == usd("50000.00")
    assert exposure.exposure.currency == "USD"
    with pytest.raises(NotFound):
        await erp.get_credit_limit(customer, "2000")
    initech = await tryton.find_party_by_identifier(CUSTOMERS[2].crm_id)
    assert initech is not None
    with pytest.raises(NotFound):
        await erp.get_credit_limit(str(initech.id), "1000")


async def test_setting_a_credit_limit_needs_trytons_credit_group(
    erp: TrytonErp, credit_admin: TrytonErp, tryton: TrytonClient
) -> None:
    """The integration user is refused; the administrator opens, then changes with the ETag."""
    [party_id] = await tryton.create(
        "party.party",
        [{"name": "Credit Test", "identifiers": [["create", [{"code": crm_id("001")}]]]}],
    )
    wanted = CreditLimit(customer_erp_id=str(party_id), credit_segment="1000", limit=usd("750.00"))
    with pytest.raises(TrytonUserError):
        await erp.upsert_credit_limit(wanted)

    opened, created = await credit_admin.upsert_credit_limit(wanted)
    assert (opened.record, created) == (wanted, True)
    raised = wanted.model_copy(update={"limit": usd("900.00")})
    assert opened.etag is not None
    changed = await credit_admin.update_credit_limit(raised, etag=opened.etag)
    assert changed.record == raised
    assert changed.etag != opened.etag
    with pytest.raises(PreconditionFailed):
        await credit_admin.update_credit_limit(wanted, etag=opened.etag)
    with pytest.raises(BackendRejected):
        await credit_admin.upsert_credit_limit(wanted.model_copy(update={"blocked": True}))


async def test_payments_through_the_pay_wizard_clear_the_invoice_once(
    erp: TrytonErp, tryton: TrytonClient
) -> None:
    """A partial then a final payment, each keyed by its reference, clear the invoice's item."""
    number = await _sale_invoice(erp, tryton, crm_id("PO-"))
    invoice = (await erp.get_invoice(number)).record
    assert invoice.customer_erp_id is not None
    customer = invoice.customer_erp_id
    [item] = await erp.list_receivables(
        customer_erp_id=customer, invoice_erp_number=number, cleared=None, offset=0, limit=10
    )
    assert (item.amount, item.cleared, item.due_date) == (usd("500.00"), False, invoice.due_date)
    assert item.accounting_document == invoice.accounting_document

    first = Payment(
        customer_erp_id=customer,
        payment_date=invoice.invoice_date,
        amount=usd("100.00"),
        reference=crm_id("PAY-"),
        invoice_erp_numbers=[number],
    )
    posted, created = await erp.post_payment(first)
    again, created_again = await erp.post_payment(first)
    assert (created, created_again) == (True, False)
    assert again == posted
    assert (posted.amount, posted.invoice_erp_numbers, posted.reference) == (
        usd("100.00"),
        [number],
        first.reference,
    )
    assert (await erp.get_invoice(number)).record.status is InvoiceStatus.PARTIALLY_PAID
    assert posted.company_code is not None
    assert posted.fiscal_year is not None
    assert posted.erp_document is not None
    assert await erp.get_payment(posted.company_code, posted.fiscal_year, posted.erp_document) == (
        posted
    )

    rest = first.model_copy(
        update={
            "amount": usd("400.00"),
            "reference": crm_id("PAY-"),
            "invoice_erp_numbers": [number],
        }
    )
    await erp.post_payment(rest)
    assert (await erp.get_invoice(number)).record.status is InvoiceStatus.PAID
    cleared = await erp.list_receivables(
        customer_erp_id=customer, invoice_erp_number=number, cleared=True, offset=0, limit=10
    )
    assert sorted(i.amount.amount for i in cleared) == [Decimal(-400), Decimal(-100), Decimal(500)]
    assert all(i.clearing_date is not None for i in cleared)
    payments = await erp.list_payments(
        customer_erp_id=customer, reference=rest.reference, offset=0, limit=10
    )
    assert [p.amount for p in payments] == [usd("400.00")]


async def test_payment_over_the_amount_due_is_refused_and_posts_nothing(
    erp: TrytonErp, tryton: TrytonClient
) -> None:
    """Paying more than is due, or without a reference, is refused; nothing is posted."""
    number = await _sale_invoice(erp, tryton, crm_id("PO-"))
    invoice = (await erp.get_invoice(number)).record
    too_much = Payment(
        customer_erp_id=invoice.customer_erp_id,
        payment_date=invoice.invoice_date,
        amount=usd("500.01"),
        reference=crm_id("PAY-"),
        invoice_erp_numbers=[number],
    )
    with pytest.raises(BackendRejected) as raised:
        await erp.post_payment(too_much)
    assert raised.value.fields == ["amount"]
    with pytest.raises(BackendRejected) as unnamed:
        await erp.post_payment(too_much.model_copy(update={"reference": None}))
    assert unnamed.value.fields == ["reference"]
    assert (await erp.get_invoice(number)).record.status is InvoiceStatus.OPEN
    with pytest.raises(NotFound):
        await erp.get_payment("1", "2026", "999999")


async def test_products_are_listed_read_and_changed_under_their_etag(erp: TrytonErp) -> None:
    """The template's products by code; a rename passes with the ETag read, not with a stale one."""
    listed = await erp.list_products(active=True, changed_since=None, offset=0, limit=100)
    skus = [product.sku for product in listed]
    assert {"LB-100", "LB-200", "LB-300"} <= set(skus)
    assert skus == sorted(skus)
    sku = skus[-1]
    current = await erp.get_product(sku)
    assert current.etag is not None
    renamed = current.record.model_copy(update={"name": crm_id("Renamed ")})
    changed = await erp.update_product(renamed, etag=current.etag)
    assert changed.record == renamed
    with pytest.raises(PreconditionFailed):
        await erp.update_product(current.record, etag=current.etag)
    with pytest.raises(NotFound):
        await erp.get_product("NO-SUCH-SKU")


async def test_new_product_needs_the_account_product_group_then_upserts_once(
    erp: TrytonErp, tryton_server: TrytonServer
) -> None:
    """The integration user may not set a product's accounting category; an administrator
    creates the product once, and a second upsert changes what differs."""
    product = Product(sku=crm_id("SKU-"), name="Treasury report", unit="EA")
    with pytest.raises(TrytonUserError):
        await erp.upsert_product(product)
    admin = _erp(tryton_server, ADMIN_LOGIN, ADMIN_PASSWORD)
    try:
        created, was_created = await admin.upsert_product(product)
        assert (created.record.model_copy(update={"erp_id": None}), was_created) == (product, True)
        retired = product.model_copy(update={"unit": "H", "active": False})
        changed, created_again = await admin.upsert_product(retired)
        assert (changed.record.model_copy(update={"erp_id": None}), created_again) == (
            retired,
            False,
        )
    finally:
        await admin.aclose()
    inactive = await erp.list_products(active=False, changed_since=None, offset=0, limit=100)
    assert product.sku in [p.sku for p in inactive]


async def test_list_price_is_the_one_price_of_a_product(erp: TrytonErp) -> None:
    """A product's list price reads as its price; a change needs the ETag read; what a list
    price cannot hold (an organisation, a price per 10) is refused, naming the fields."""
    [price] = await erp.list_prices(
        sku="LB-200",
        sales_organization=None,
        distribution_channel=None,
        valid_on=None,
        offset=0,
        limit=10,
    )
    assert (price.unit_price, price.unit, price.valid_from) == (usd("1200.00"), "EA", None)
    assert price.erp_id is not None
    for organisation, channel in (("1010", None), (None, "10")):
        assert not await erp.list_prices(
            sku="LB-200",
            sales_organization=organisation,
            distribution_channel=channel,
            valid_on=None,
            offset=0,
            limit=10,
        )
    current = await erp.get_price(price.erp_id)
    assert current.etag is not None
    raised = price.model_copy(update={"unit_price": usd("1250.00")})
    assert (await erp.update_price(price.erp_id, raised, etag=current.etag)).record == raised
    with pytest.raises(PreconditionFailed):
        await erp.update_price(price.erp_id, price, etag=current.etag)
    upserted, created = await erp.upsert_price(price)
    assert (upserted.record, created) == (price, False)
    unheld = price.model_copy(update={"sales_organization": "1010", "per_quantity": Decimal(10)})
    with pytest.raises(BackendRejected) as refused:
        await erp.upsert_price(unheld)
    assert refused.value.fields == ["sales_organization", "per_quantity"]
