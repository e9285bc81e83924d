"""Invoices keep net = sum of lines and gross = net + tax."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from ledgerbridge.canonical import Invoice, InvoiceLine, InvoiceStatus, Money


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def invoice(**changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "erp_number": "90000042",
        "invoice_date": date(2026, 11, 24),
        "currency": "EUR",
        "lines": [
            InvoiceLine(item_number="10", quantity=Decimal(3), unit="EA", net_amount=eur("59.97")),
            InvoiceLine(item_number="20", quantity=Decimal(1), unit="H", net_amount=eur("150.15")),
        ],
        "net_total": eur("210.12"),
        "tax_total": eur("39.92"),
        "gross_total": eur("250.04"),
    }
    return Invoice(**(fields | changes))


def test_valid_invoice() -> None:
    """An invoice whose totals add up validates and starts open."""
    assert invoice().status is InvoiceStatus.OPEN


def test_gross_must_be_net_plus_tax() -> None:
    """A gross total off by a cent is refused on gross_total."""
    with pytest.raises(ValidationError) as caught:
        invoice(gross_total=eur("250.05"))
    assert caught.value.errors()[0]["loc"] == ("gross_total",)


def test_net_must_be_the_sum_of_lines() -> None:
    """A net total that is not the lines' sum is refused on net_total."""
    with pytest.raises(ValidationError) as caught:
        invoice(net_total=eur("210.00"), gross_total=eur("249.92"))
    assert caught.value.errors()[0]["loc"] == ("net_total",)


def test_header_only_invoice_is_allowed() -> None:
    """Without lines, only gross = net + tax is checked."""
    assert invoice(lines=[]).lines == []


def test_tax_in_another_currency_is_refused() -> None:
    """A USD tax on a EUR line is refused."""
    with pytest.raises(ValidationError, match="tax is in USD"):
        InvoiceLine(
            item_number="10",
            quantity=Decimal(1),
            unit="EA",
            net_amount=eur("1"),
            tax_amount=Money(amount=Decimal("0.19"), currency="USD"),
        )


def test_due_date_cannot_precede_invoice_date() -> None:
    """An invoice due before it was issued is refused."""
    with pytest.raises(ValidationError, match="before the invoice date"):
        invoice(due_date=date(2026, 11, 1))


def test_lines_and_totals_in_invoice_currency() -> None:
    """A USD line or a USD net total on a EUR invoice is refused."""
    usd = Money(amount=Decimal("59.97"), currency="USD")
    usd_line = InvoiceLine(item_number="10", quantity=Decimal(3), unit="EA", net_amount=usd)
    with pytest.raises(ValidationError, match="item 10 is in USD"):
        invoice(lines=[usd_line])
    with pytest.raises(ValidationError, match="net total is in USD"):
        invoice(lines=[], net_total=usd)
