"""Products, credit management, delivery and the billing run in the ERP sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.runtime.errors import BackendRejected, Conflict, NotFound
from ledgerbridge.sandboxes.erp import create_app

SO = "API_SALES_ORDER_SRV"
CREDIT = "API_CRDTMBUSINESSPARTNER"
BILLING = "API_BILLING_DOCUMENT_SRV"
AR = "API_OPLACCTGDOCITEMCUBE_SRV"
ADMIN = "http://erp.test/sandbox/admin"


@pytest.fixture
async def admin(erp_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the sandbox's admin routes."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=erp_app), auth=("LEDGERBRIDGE", "sandbox-secret")
    ) as client:
        yield client


async def _credit_limit(s4: S4HanaClient, partner: str, limit: str) -> None:
    await s4.create(
        CREDIT,
        "CreditMgmtBusinessPartner",
        {
            "BusinessPartner": partner,
            "to_CreditMgmtAccountTP": [
                {
                    "CreditSegment": "1000",
                    "CreditLimitAmount": limit,
                    "CreditSegmentCurrency": "EUR",
                }
            ],
        },
    )


async def test_product_with_descriptions_and_unknown_material_rejected(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """Products carry descriptions; an order for a material that does not exist is refused."""
    product = await s4.get("API_PRODUCT_SRV", "A_Product", "MAT-1", expand=["to_Description"])
    assert product.properties["to_Description"][0]["ProductDescription"] == "MAT-1 widget"
    payload = order_payload(customer)
    payload["to_Item"][0]["Material"] = "NOPE"
    with pytest.raises(BackendRejected, match="material NOPE does not exist"):
        await s4.create(SO, "A_SalesOrder", payload)
    order = await s4.create(SO, "A_SalesOrder", order_payload(customer))
    item = await s4.get(
        SO,
        "A_SalesOrderItem",
        {"SalesOrder": order.properties["SalesOrder"], "SalesOrderItem": "10"},
    )
    assert item.properties["SalesOrderItemText"] == "Item 1"


async def test_order_without_credit_account_is_not_checked(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """Without a credit account the credit status stays blank."""
    order = await s4.create(SO, "A_SalesOrder", order_payload(customer))
    assert order.properties["TotalCreditCheckStatus"] == ""


async def test_orders_over_the_limit_are_blocked_and_can_be_released(
    s4: S4HanaClient, http: httpx.AsyncClient, csrf_token, customer: str, order_payload
) -> None:
    """Exposure plus the new order above the limit blocks it (B); release sets D."""
    await _credit_limit(s4, customer, "100.00")
    first = await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("25.00",)))
    assert first.properties["TotalCreditCheckStatus"] == "A"
    second = await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("30.00",)))
    assert second.properties["TotalCreditCheckStatus"] == "B"
    account = await s4.get(
        CREDIT, "CreditManagementAccount", {"BusinessPartner": customer, "CreditSegment": "1000"}
    )
    assert Decimal(account.properties["CreditExposureAmount"]) == Decimal("50.00")

    token = await csrf_token(http, SO)
    released = await http.post(
        f"/{SO}/releaseCreditBlock", params={"SalesOrder": "'2'"}, headers={"X-CSRF-Token": token}
    )
    assert released.status_code == 200, released.text
    assert released.json()["d"]["TotalCreditCheckStatus"] == "D"
    again = await http.post(
        f"/{SO}/releaseCreditBlock", params={"SalesOrder": "'2'"}, headers={"X-CSRF-Token": token}
    )
    assert again.status_code == 400
    account = await s4.get(
        CREDIT, "CreditManagementAccount", {"BusinessPartner": customer, "CreditSegment": "1000"}
    )
    assert Decimal(account.properties["CreditExposureAmount"]) == Decimal("110.00")


async def test_raising_the_limit_lets_new_orders_pass(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """A PATCH of CreditLimitAmount takes effect for the next order's check."""
    await _credit_limit(s4, customer, "10.00")
    blocked = await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("20.00",)))
    assert blocked.properties["TotalCreditCheckStatus"] == "B"
    key = {"BusinessPartner": customer, "CreditSegment": "1000"}
    await s4.update(
        CREDIT, "CreditManagementAccount", key, {"CreditLimitAmount": "1000.00"}, etag=None
    )
    passed = await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("20.00",)))
    assert passed.properties["TotalCreditCheckStatus"] == "A"


async def test_blocked_order_cannot_be_delivered(
    s4: S4HanaClient, admin: httpx.AsyncClient, customer: str, order_payload
) -> None:
    """Goods issue for a credit-blocked order is refused with 409."""
    await _credit_limit(s4, customer, "1.00")
    await s4.create(SO, "A_SalesOrder", order_payload(customer))
    response = await admin.post(f"{ADMIN}/sales-orders/1/deliver")
    assert response.status_code == 409
    assert "blocked for credit" in response.json()["error"]["message"]["value"]


async def test_delivery_and_billing_run(
    s4: S4HanaClient, admin: httpx.AsyncClient, customer: str, order_payload
) -> None:
    """Delivered orders are billed once; billing numbers start at 90000000 and post to AR."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("10.00", "5.00")))
    await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("7.00",)))
    delivered = await admin.post(f"{ADMIN}/sales-orders/1/deliver")
    assert delivered.json() == {"SalesOrder": "1", "OutboundDelivery": "80000000"}
    assert (await admin.post(f"{ADMIN}/sales-orders/1/deliver")).status_code == 409

    run = await admin.post(f"{ADMIN}/billing-run")
    assert run.json() == {"BillingDocuments": ["90000000"]}
    assert (await admin.post(f"{ADMIN}/billing-run")).json() == {"BillingDocuments": []}

    invoice = await s4.get(BILLING, "A_BillingDocument", "90000000", expand=["to_Item"])
    assert Decimal(invoice.properties["TotalNetAmount"]) == Decimal("30.00")
    assert invoice.properties["SoldToParty"] == customer
    assert invoice.properties["InvoiceClearingStatus"] == "A"
    assert [i["ReferenceSDDocument"] for i in invoice.properties["to_Item"]] == ["1", "1"]
    assert [i["NetAmount"] for i in invoice.properties["to_Item"]] == ["20.00", "10.00"]
    order = await s4.get(SO, "A_SalesOrder", "1", expand=["to_Item"])
    assert order.properties["OverallSDProcessStatus"] == "C"
    assert order.properties["OverallTotalDeliveryStatus"] == "C"
    assert {i["OrderRelatedBillingStatus"] for i in order.properties["to_Item"]} == {"C"}
    open_items = await s4.query(
        AR, "A_OperationalAcctgDocItemCube", filter="BillingDocument eq '90000000'"
    )
    assert len(open_items) == 1
    assert open_items[0].properties["IsCleared"] is False
    assert Decimal(open_items[0].properties["AmountInTransactionCurrency"]) == Decimal("30.00")
    assert (
        open_items[0].properties["AccountingDocument"] == invoice.properties["AccountingDocument"]
    )
    untouched = await s4.get(SO, "A_SalesOrder", "2")
    assert untouched.properties["OverallTotalDeliveryStatus"] == "A"


async def test_billing_documents_cannot_be_created_or_changed_by_clients(
    s4: S4HanaClient,
) -> None:
    """Billing documents come only from the billing run."""
    with pytest.raises(BackendRejected) as caught:
        await s4.create(BILLING, "A_BillingDocument", {"SoldToParty": "1"})
    assert caught.value.status_code == 405
    with pytest.raises(NotFound):
        await s4.get(BILLING, "A_BillingDocument", "90000000")


async def test_delivery_happens_by_itself_after_the_configured_delay(
    partner_payload, order_payload
) -> None:
    """With delivery_delay set, an unblocked order is delivered once the clock passes it."""
    now = [datetime(2026, 1, 5, 9, 0, tzinfo=UTC)]
    app = create_app(delivery_delay=60, clock=lambda: now[0])
    async with S4HanaClient(
        base_url="http://erp.test/sap/opu/odata/sap",
        username="LEDGERBRIDGE",
        password="sandbox-secret",
        transport=httpx.ASGITransport(app=app),
    ) as s4:
        await s4.create("API_PRODUCT_SRV", "A_Product", {"Product": "MAT-1"})
        partner = await s4.create("API_BUSINESS_PARTNER", "A_BusinessPartner", partner_payload())
        await s4.create(SO, "A_SalesOrder", order_payload(partner.properties["BusinessPartner"]))
        now[0] += timedelta(seconds=59)
        assert (await s4.get(SO, "A_SalesOrder", "1")).properties[
            "OverallTotalDeliveryStatus"
        ] == "A"
        now[0] += timedelta(seconds=1)
        assert (await s4.get(SO, "A_SalesOrder", "1")).properties[
            "OverallTotalDeliveryStatus"
        ] == "C"


async def test_stale_etag_on_credit_released_order_conflicts(
    s4: S4HanaClient, http: httpx.AsyncClient, csrf_token, customer: str, order_payload
) -> None:
    """A release changes the order's ETag, so an update with the earlier one conflicts."""
    await _credit_limit(s4, customer, "1.00")
    order = await s4.create(SO, "A_SalesOrder", order_payload(customer))
    token = await csrf_token(http, SO)
    await http.post(
        f"/{SO}/releaseCreditBlock", params={"SalesOrder": "'1'"}, headers={"X-CSRF-Token": token}
    )
    with pytest.raises(Conflict):
        await s4.update(SO, "A_SalesOrder", "1", {"PurchaseOrderByCustomer": "X"}, etag=order.etag)


async def test_connector_calls_function_imports(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """S4HanaClient.call posts a function import with literal parameters and returns its entity."""
    await _credit_limit(s4, customer, "1.00")
    await s4.create(SO, "A_SalesOrder", order_payload(customer))
    released = await s4.call(SO, "releaseCreditBlock", {"SalesOrder": "1"})
    assert released.properties["TotalCreditCheckStatus"] == "D"
    assert released.etag is not None
    with pytest.raises(BackendRejected, match="not blocked for credit"):
        await s4.call(SO, "releaseCreditBlock", {"SalesOrder": "1"})
    with pytest.raises(NotFound):
        await s4.call(SO, "releaseCreditBlock", {"SalesOrder": "77"})


async def test_cancel_invoice_reverses_receivable_and_reopens_billing(
    s4: S4HanaClient, admin: httpx.AsyncClient, customer: str, order_payload
) -> None:
    """Cancel creates an S1 document, clears the receivable against it and rebills later."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer))
    await admin.post(f"{ADMIN}/sales-orders/1/deliver")
    await admin.post(f"{ADMIN}/billing-run")
    rows = await s4.call_collection(BILLING, "Cancel", {"BillingDocument": "90000000"})
    assert [(r.type, r.properties["CancellationBillingDocument"]) for r in rows] == [
        ("API_BILLING_DOCUMENT_SRV.CancelResult", "90000001")
    ]
    original = await s4.get(BILLING, "A_BillingDocument", "90000000")
    assert original.properties["BillingDocumentIsCancelled"] is True
    reversal = await s4.get(BILLING, "A_BillingDocument", "90000001", expand=["to_Item"])
    assert reversal.properties["BillingDocumentType"] == "S1"
    assert reversal.properties["CancelledBillingDocument"] == "90000000"
    assert len(reversal.properties["to_Item"]) == 1
    items = await s4.query(AR, "A_OperationalAcctgDocItemCube", filter=f"Customer eq '{customer}'")
    assert sorted(Decimal(i.properties["AmountInTransactionCurrency"]) for i in items) == [
        Decimal("-21.00"),
        Decimal("21.00"),
    ]
    assert all(i.properties["IsCleared"] for i in items)
    order = await s4.get(SO, "A_SalesOrder", "1")
    assert order.properties["OverallSDProcessStatus"] == "B"
    assert (await admin.post(f"{ADMIN}/billing-run")).json() == {"BillingDocuments": ["90000002"]}
    with pytest.raises(BackendRejected, match="cancelled or is a cancellation"):
        await s4.call_collection(BILLING, "Cancel", {"BillingDocument": "90000001"})
    with pytest.raises(NotFound):
        await s4.call_collection(BILLING, "Cancel", {"BillingDocument": "123"})


async def test_paid_invoice_cannot_be_cancelled(
    s4: S4HanaClient, admin: httpx.AsyncClient, customer: str, order_payload
) -> None:
    """Even a part payment blocks cancellation until it is reversed."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer))
    await admin.post(f"{ADMIN}/sales-orders/1/deliver")
    await admin.post(f"{ADMIN}/billing-run")
    await s4.create(
        "ZLB_INCOMING_PAYMENT_SRV",
        "IncomingPayment",
        {"Customer": customer, "AmountInTransactionCurrency": "1.00"},
    )
    with pytest.raises(BackendRejected, match="paid in full or in part"):
        await s4.call_collection(BILLING, "Cancel", {"BillingDocument": "90000000"})


async def test_rejecting_items_updates_totals_and_status(
    s4: S4HanaClient, admin: httpx.AsyncClient, customer: str, order_payload
) -> None:
    """Rejected items leave the net value; all items rejected completes the order (C)."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("10.00", "5.00")))
    first = {"SalesOrder": "1", "SalesOrderItem": "10"}
    await s4.update(SO, "A_SalesOrderItem", first, {"SalesDocumentRjcnReason": "Z1"}, etag=None)
    order = await s4.get(SO, "A_SalesOrder", "1")
    assert (
        order.properties["TotalNetAmount"],
        order.properties["OverallSDDocumentRejectionSts"],
    ) == (
        "10.00",
        "B",
    )
    with pytest.raises(BackendRejected, match="RequestedQuantity cannot be changed"):
        await s4.update(SO, "A_SalesOrderItem", first, {"RequestedQuantity": "9"}, etag=None)
    second = {"SalesOrder": "1", "SalesOrderItem": "20"}
    await s4.update(SO, "A_SalesOrderItem", second, {"SalesDocumentRjcnReason": "Z1"}, etag=None)
    order = await s4.get(SO, "A_SalesOrder", "1")
    assert order.properties["OverallSDDocumentRejectionSts"] == "C"
    assert order.properties["OverallSDProcessStatus"] == "C"
    assert (await admin.post(f"{ADMIN}/sales-orders/1/deliver")).status_code == 409


async def test_partly_rejected_order_bills_only_live_items(
    s4: S4HanaClient, admin: httpx.AsyncClient, customer: str, order_payload
) -> None:
    """Delivery and billing skip rejected items."""
    await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("10.00", "5.00")))
    key = {"SalesOrder": "1", "SalesOrderItem": "10"}
    await s4.update(SO, "A_SalesOrderItem", key, {"SalesDocumentRjcnReason": "Z1"}, etag=None)
    await admin.post(f"{ADMIN}/sales-orders/1/deliver")
    await admin.post(f"{ADMIN}/billing-run")
    invoice = await s4.get(BILLING, "A_BillingDocument", "90000000", expand=["to_Item"])
    assert Decimal(invoice.properties["TotalNetAmount"]) == Decimal("10.00")
    assert [i["SalesDocumentItem"] for i in invoice.properties["to_Item"]] == ["20"]


async def test_delete_order_before_delivery_only(
    s4: S4HanaClient, admin: httpx.AsyncClient, customer: str, order_payload
) -> None:
    """An undelivered order can be deleted with its ETag; a delivered one cannot."""
    first = await s4.create(SO, "A_SalesOrder", order_payload(customer))
    second = await s4.create(SO, "A_SalesOrder", order_payload(customer))
    with pytest.raises(BackendRejected) as missing_etag:
        await s4.delete(SO, "A_SalesOrder", "1", etag=None)
    assert missing_etag.value.status_code == 428
    await s4.delete(SO, "A_SalesOrder", "1", etag=first.etag)
    with pytest.raises(NotFound):
        await s4.get(SO, "A_SalesOrder", "1")
    assert await s4.query(SO, "A_SalesOrderItem", filter="SalesOrder eq '1'") == []
    await admin.post(f"{ADMIN}/sales-orders/2/deliver")
    current = await s4.get(SO, "A_SalesOrder", "2")
    with pytest.raises(Conflict, match="subsequent documents"):
        await s4.delete(SO, "A_SalesOrder", "2", etag=current.etag)
    assert second.etag != current.etag
