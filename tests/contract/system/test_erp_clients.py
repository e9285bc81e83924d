"""The published clients of the ERP System APIs, over HTTP against the ERP sandbox."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from tests.contract.system.conftest import ErpWorld

from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_credit.client import ErpCreditClient
from ledgerbridge.apis.system.erp_pricing.client import ErpPricingClient
from ledgerbridge.apis.system.erp_products.client import ErpProductsClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.canonical import CreditLimit, InvoiceStatus, Money, Payment, Price, Product
from ledgerbridge.runtime.problems import UpstreamProblem

EUR = "EUR"


async def test_products_client_upserts_reads_and_updates_with_etags(erp: ErpWorld) -> None:
    """The products client round-trips a product and refuses a stale ETag as a 412 problem."""
    products = ErpProductsClient(erp.api)
    await products.upsert_product(Product(sku="FX-HEDGE", name="FX hedge"))
    product, etag = await products.read_product("FX-HEDGE")

    renamed = await products.update_product(
        product.model_copy(update={"name": "FX hedge, forward"}), etag=etag
    )
    with pytest.raises(UpstreamProblem) as stale:
        await products.update_product(product, etag=etag)
    page = await products.list_products(active=True)

    assert renamed.name == "FX hedge, forward"
    assert stale.value.status == 412
    assert [p.sku for p in page.items] == ["FX-HEDGE"]
    assert (await products.get_product("FX-HEDGE")).name == "FX hedge, forward"


async def test_pricing_client_sets_and_finds_a_price(erp: ErpWorld) -> None:
    """The pricing client sets a price once and finds it by SKU and day."""
    await erp.product("MAT")
    pricing = ErpPricingClient(erp.api)
    wanted = Price(
        product_sku="MAT",
        unit_price=Money(amount=Decimal("12.50"), currency=EUR),
        valid_from=date(2027, 1, 1),
    )

    first = await pricing.upsert_price(wanted)
    again = await pricing.upsert_price(wanted)
    current, etag = await pricing.read_price(str(first.erp_id))
    raised = await pricing.update_price(
        str(first.erp_id),
        current.model_copy(update={"unit_price": Money(amount=Decimal("13"), currency=EUR)}),
        etag=etag,
    )
    found = await pricing.list_prices(sku="MAT", valid_on=date(2027, 3, 1))

    assert again.erp_id == first.erp_id
    assert raised.unit_price.amount == Decimal("13")
    assert [p.erp_id for p in found.items] == [first.erp_id]


async def test_billing_receivables_and_credit_clients_follow_an_invoice(erp: ErpWorld) -> None:
    """An invoice is listed open, paid once through the client, then listed paid and cleared."""
    await erp.product("MAT")
    customer = await erp.customer()
    credit = ErpCreditClient(erp.api)
    await credit.upsert_credit_limit(
        CreditLimit(
            customer_erp_id=customer,
            credit_segment="1000",
            limit=Money(amount=Decimal("1000"), currency=EUR),
        )
    )
    number = await erp.invoice(customer, price="50.00")
    billing = ErpBillingDocumentsClient(erp.api)
    receivables = ErpReceivablesClient(erp.api)

    open_invoices = await billing.list_invoices(customer_erp_id=customer, status=InvoiceStatus.OPEN)
    before = await credit.get_credit_exposure(customer, "1000")
    payment = Payment(
        customer_erp_id=customer,
        payment_date=date(2026, 11, 30),
        amount=Money(amount=Decimal("100.00"), currency=EUR),
        reference="BANK-CLIENT-1",
        invoice_erp_numbers=[number],
    )
    posted = await receivables.post_payment(payment)
    repeated = await receivables.post_payment(payment)
    after = await credit.get_credit_exposure(customer, "1000")

    assert [i.erp_number for i in open_invoices.items] == [number]
    assert before.exposure.amount == Decimal("100.00")
    assert repeated == posted
    assert posted.invoice_erp_numbers == [number]
    assert (await billing.get_invoice(number)).status is InvoiceStatus.PAID
    assert after.exposure.amount == 0
    assert after.allows(Money(amount=Decimal("1000"), currency=EUR))
    still_open = await receivables.list_receivables(customer_erp_id=customer, cleared=False)
    assert still_open.items == []
    assert posted.erp_document is not None
    assert (
        await receivables.get_payment("1010", str(posted.fiscal_year), posted.erp_document)
    ) == posted
