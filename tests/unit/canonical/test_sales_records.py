"""Contacts, opportunities, prices and cases keep their rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ledgerbridge.canonical import (
    Case,
    CaseStatus,
    Contact,
    Money,
    Opportunity,
    OpportunityStage,
    Price,
)


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_contact_needs_last_name_and_a_plain_email() -> None:
    """A contact without a last name, or with a malformed e-mail, is refused."""
    assert Contact(last_name="Rogers", email="sean@edge.example").email == "sean@edge.example"
    with pytest.raises(ValidationError):
        Contact(last_name="")
    with pytest.raises(ValidationError):
        Contact(last_name="Rogers", email="sean at edge")


def test_opportunity_amount_in_its_currency() -> None:
    """An amount in another currency than the opportunity's is refused."""
    with pytest.raises(ValidationError, match="amount is in EUR"):
        Opportunity(
            name="Edge emergency generators",
            stage=OpportunityStage.PROSPECTING,
            close_date=date(2026, 12, 31),
            currency="USD",
            amount=eur("75000"),
        )


@pytest.mark.parametrize(
    ("stage", "probability"),
    [(OpportunityStage.CLOSED_WON, "90"), (OpportunityStage.CLOSED_LOST, "10")],
)
def test_closed_opportunity_probability(stage: OpportunityStage, probability: str) -> None:
    """Won means 100 and lost means 0."""
    with pytest.raises(ValidationError, match="has probability"):
        Opportunity(
            name="x",
            stage=stage,
            close_date=date(2026, 12, 31),
            currency="EUR",
            probability=Decimal(probability),
        )
    assert stage.is_closed


def test_price_not_negative_and_validity_ordered() -> None:
    """A negative price, or a validity ending before it starts, is refused."""
    with pytest.raises(ValidationError, match="negative"):
        Price(product_sku="GC1040", unit_price=eur("-1"))
    with pytest.raises(ValidationError, match="before it starts"):
        Price(
            product_sku="GC1040",
            unit_price=eur("1"),
            valid_from=date(2026, 2, 1),
            valid_to=date(2026, 1, 31),
        )


def test_case_closing_time_rules() -> None:
    """Only a closed case has a closing time, and not before it opened."""
    opened = datetime(2026, 11, 24, 9, tzinfo=UTC)
    with pytest.raises(ValidationError, match="new case has no closing time"):
        Case(subject="Generator fails", opened_at=opened, closed_at=opened)
    with pytest.raises(ValidationError, match="before it opened"):
        Case(
            subject="Generator fails",
            status=CaseStatus.CLOSED,
            opened_at=opened,
            closed_at=datetime(2026, 11, 24, 8, tzinfo=UTC),
        )
