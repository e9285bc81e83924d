"""Sales price condition records and automatic pricing of order items."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.runtime.errors import BackendRejected

PRC = "API_SLSPRICINGCONDITIONRECORD_SRV"
SO = "API_SALES_ORDER_SRV"
OPEN_END = "/Date(253402214400000)/"


def _record(
    material: str,
    rate: str,
    *,
    customer: str | None = None,
    start: str = "/Date(0)/",
    end: str = OPEN_END,
    currency: str = "EUR",
) -> dict[str, Any]:
    validity: dict[str, Any] = {
        "ConditionApplication": "V",
        "ConditionType": "PR00",
        "ConditionValidityStartDate": start,
        "ConditionValidityEndDate": end,
        "Material": material,
        "SalesOrganization": "1010",
        "DistributionChannel": "10",
    }
    if customer:
        validity["Customer"] = customer
    return {
        "ConditionApplication": "V",
        "ConditionType": "PR00",
        "ConditionTable": "305" if customer else "304",
        "ConditionRateValue": rate,
        "ConditionRateValueUnit": currency,
        "ConditionQuantity": "1",
        "ConditionQuantityUnit": "EA",
        "to_SlsPrcgCndnRecdValidity": {"results": [validity]},
    }


def _unpriced(order: dict[str, Any]) -> dict[str, Any]:
    for item in order["to_Item"]:
        del item["to_PricingElement"]
    return order


async def test_condition_record_round_trip(s4: S4HanaClient, products) -> None:
    """A deep-inserted record is numbered, reads back with its validity, also by date key."""
    created = await s4.create(PRC, "A_SlsPrcgConditionRecord", _record("MAT-1", "12.50"))
    number = created.properties["ConditionRecord"]
    assert number == "0000000001"
    read = await s4.get(
        PRC, "A_SlsPrcgConditionRecord", number, expand=["to_SlsPrcgCndnRecdValidity"]
    )
    validity = read.properties["to_SlsPrcgCndnRecdValidity"][0]
    assert validity["Material"] == "MAT-1"
    assert validity["ConditionValidityEndDate"].year == 9999
    assert Decimal(read.properties["ConditionRateValue"]) == Decimal("12.50")
    by_key = await s4.get(
        PRC,
        "A_SlsPrcgCndnRecdValidity",
        {"ConditionRecord": number, "ConditionValidityEndDate": datetime(9999, 12, 31)},
    )
    assert by_key.uri.endswith("ConditionValidityEndDate=datetime'9999-12-31T00%3A00%3A00')")


async def test_items_without_price_are_priced_from_records(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """An item without PR00 takes the record's rate; a customer-specific record wins."""
    await s4.create(PRC, "A_SlsPrcgConditionRecord", _record("MAT-1", "10.00"))
    special = await s4.create(
        PRC, "A_SlsPrcgConditionRecord", _record("MAT-1", "8.00", customer=customer)
    )
    await s4.create(PRC, "A_SlsPrcgConditionRecord", _record("MAT-2", "3.00"))
    order = await s4.create(
        SO, "A_SalesOrder", _unpriced(order_payload(customer, prices=("x", "y")))
    )
    assert Decimal(order.properties["TotalNetAmount"]) == Decimal("22.00")
    read = await s4.get(
        SO, "A_SalesOrder", order.properties["SalesOrder"], expand=["to_Item/to_PricingElement"]
    )
    first = read.properties["to_Item"][0]["to_PricingElement"][0]
    assert first["ConditionRecord"] == special.properties["ConditionRecord"]
    assert (first["ConditionOrigin"], first["ConditionIsManuallyChanged"]) == ("A", False)


async def test_manual_price_overrides_records(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """A PR00 sent with the item wins over any record."""
    await s4.create(PRC, "A_SlsPrcgConditionRecord", _record("MAT-1", "10.00"))
    order = await s4.create(SO, "A_SalesOrder", order_payload(customer, prices=("1.00",)))
    assert Decimal(order.properties["TotalNetAmount"]) == Decimal("2.00")


async def test_deleted_expired_or_foreign_currency_records_do_not_price(
    s4: S4HanaClient, customer: str, order_payload
) -> None:
    """Deleted records, records outside their validity and other currencies give no price."""
    old = await s4.create(
        PRC, "A_SlsPrcgConditionRecord", _record("MAT-1", "10.00", end="/Date(86400000)/")
    )
    assert old.properties["ConditionRecord"] == "0000000001"
    with pytest.raises(BackendRejected, match="mandatory condition PR00 is missing"):
        await s4.create(SO, "A_SalesOrder", _unpriced(order_payload(customer)))

    current = await s4.create(PRC, "A_SlsPrcgConditionRecord", _record("MAT-1", "10.00"))
    number = current.properties["ConditionRecord"]
    with pytest.raises(BackendRejected) as caught:
        await s4.update(
            PRC, "A_SlsPrcgConditionRecord", number, {"ConditionIsDeleted": True}, etag=None
        )
    assert caught.value.status_code == 428
    await s4.update(
        PRC, "A_SlsPrcgConditionRecord", number, {"ConditionIsDeleted": True}, etag=current.etag
    )
    with pytest.raises(BackendRejected, match="mandatory condition PR00 is missing"):
        await s4.create(SO, "A_SalesOrder", _unpriced(order_payload(customer)))

    await s4.create(PRC, "A_SlsPrcgConditionRecord", _record("MAT-1", "10.00", currency="USD"))
    with pytest.raises(BackendRejected, match="price in USD cannot be used in a EUR order"):
        await s4.create(SO, "A_SalesOrder", _unpriced(order_payload(customer)))


async def test_record_for_unknown_material_is_refused(s4: S4HanaClient) -> None:
    """Condition records are checked against the product master."""
    with pytest.raises(BackendRejected, match="Material GHOST does not exist"):
        await s4.create(PRC, "A_SlsPrcgConditionRecord", _record("GHOST", "1.00"))
