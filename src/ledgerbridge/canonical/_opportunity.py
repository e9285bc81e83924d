"""Opportunities: sales the CRM expects, before they become orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator

from ledgerbridge.canonical._base import CanonicalModel, CurrencyCode
from ledgerbridge.canonical._money import Money

__all__ = ["Opportunity", "OpportunityStage"]


class OpportunityStage(StrEnum):
    """The sales stages, one for each of the CRM's standard stages."""

    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    NEEDS_ANALYSIS = "needs_analysis"
    VALUE_PROPOSITION = "value_proposition"
    DECISION_MAKERS = "decision_makers"
    PERCEPTION_ANALYSIS = "perception_analysis"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"

    @property
    def is_closed(self) -> bool:
        """Whether the opportunity is decided, won or lost."""
        return self in {OpportunityStage.CLOSED_WON, OpportunityStage.CLOSED_LOST}


_CLOSED_PROBABILITY = {OpportunityStage.CLOSED_WON: 100, OpportunityStage.CLOSED_LOST: 0}


class Opportunity(CanonicalModel):
    """A prospective sale; won means probability 100, lost means 0."""

    canonical_id: str | None = None
    crm_id: str | None = None
    account_crm_id: str | None = None
    name: str = Field(min_length=1)
    stage: OpportunityStage
    close_date: date
    currency: CurrencyCode
    amount: Money | None = None
    probability: Decimal | None = Field(default=None, ge=0, le=100)

    @field_validator("amount")
    @classmethod
    def _amount_in_currency(cls, value: Money | None, info: ValidationInfo) -> Money | None:
        currency = info.data.get("currency")
        if value is not None and currency is not None and value.currency != currency:
            raise ValueError(f"amount is in {value.currency}, the opportunity in {currency}")
        return value

    @field_validator("probability")
    @classmethod
    def _probability_matches_stage(
        cls, value: Decimal | None, info: ValidationInfo
    ) -> Decimal | None:
        stage = info.data.get("stage")
        expected = _CLOSED_PROBABILITY.get(stage) if isinstance(stage, OpportunityStage) else None
        if value is not None and expected is not None and value != expected:
            raise ValueError(f"a {stage} opportunity has probability {expected}, not {value}")
        return value
