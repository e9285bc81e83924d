"""Receivable items, payments and credit exposure keep their rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from ledgerbridge.canonical import CreditExposure, CreditLimit, Money, Payment, ReceivableItem


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def item(**changes: Any) -> ReceivableItem:
    fields: dict[str, Any] = {
        "company_code": "1010",
        "fiscal_year": "2026",
        "accounting_document": "1800000012",
        "item": "1",
        "customer_erp_id": "17100001",
        "amount": eur("250.04"),
    }
    return ReceivableItem(**(fields | changes))


def test_cleared_exactly_when_clearing_date() -> None:
    """Cleared needs a clearing date and an open item has none."""
    assert item(cleared=True, clearing_date=date(2026, 12, 1)).cleared
    with pytest.raises(ValidationError, match="needs its clearing date"):
        item(cleared=True)
    with pytest.raises(ValidationError, match="no clearing date"):
        item(clearing_date=date(2026, 12, 1))


def test_payment_amount_is_positive() -> None:
    """Zero and negative payments are refused."""
    assert Payment(payment_date=date(2026, 12, 1), amount=eur("1")).amount == eur("1")
    for amount in ["0", "-5"]:
        with pytest.raises(ValidationError, match="positive amount"):
            Payment(payment_date=date(2026, 12, 1), amount=eur(amount))


def test_credit_exposure_available_and_allows() -> None:
    """Available is limit minus exposure; an order fits only if it is within it and unblocked."""
    exposure = CreditExposure(
        customer_erp_id="17100001", credit_segment="1000", limit=eur("1000"), exposure=eur("800")
    )
    assert exposure.available == eur("200")
    assert exposure.allows(eur("200"))
    assert not exposure.allows(eur("200.01"))
    assert not exposure.model_copy(update={"blocked": True}).allows(eur("1"))


def test_credit_exposure_in_limit_currency_and_limit_not_negative() -> None:
    """Exposure in another currency, or a negative limit, is refused."""
    with pytest.raises(ValidationError, match="exposure is in USD"):
        CreditExposure(
            customer_erp_id="1",
            credit_segment="1000",
            limit=eur("1"),
            exposure=Money(amount=Decimal(1), currency="USD"),
        )
    with pytest.raises(ValidationError, match="negative"):
        CreditLimit(customer_erp_id="1", credit_segment="1000", limit=eur("-1"))
