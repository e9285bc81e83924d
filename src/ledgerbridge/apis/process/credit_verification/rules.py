"""The credit rules: what turns a customer's figures into approve, refer or reject.

Each rule looks at the figures and may ask for a verdict with a reason; the strictest verdict
asked for wins, and every reason is kept. The settings come from a TOML file (see
docs/process.md); `CreditRules()` holds the defaults.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.apis.process.credit_verification.client import CreditFigures, Reason, Verdict

_SEVERITY = {Verdict.APPROVE: 0, Verdict.REFER: 1, Verdict.REJECT: 2}


class CreditRules(BaseModel):
    """The rule settings; amounts are in the credit limit's currency.

    Usage::

        rules = CreditRules.from_file(Path("credit-rules.toml"))
        verdict, reasons = rules.evaluate(figures)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    credit_segment: str = Field(default="1000", min_length=1)
    # Refer an order that leaves less than this share of the limit free.
    referral_band: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)
    # What an order that takes exposure over the limit gets.
    over_limit: Verdict = Verdict.REJECT
    # What an order of a customer without a credit account gets (the ERP checks none then).
    no_credit_limit: Verdict = Verdict.APPROVE
    blocked_account: Verdict = Verdict.REJECT
    # An open item counts as overdue this many days after its due date.
    overdue_grace_days: int = Field(default=0, ge=0)
    # Refer when overdue items add up to more than this amount.
    refer_overdue_amount: Decimal = Field(default=Decimal(0), ge=0)
    # Reject when an item is overdue for more than this many days.
    reject_overdue_days: int = Field(default=90, ge=0)
    # Reject when overdue items add up to more than this amount (none: never for the amount).
    reject_overdue_amount: Decimal | None = Field(default=None, ge=0)

    @classmethod
    def from_file(cls, path: Path) -> CreditRules:
        """The rules a TOML file sets, defaults for the rest."""
        with path.open("rb") as handle:
            return cls.model_validate(tomllib.load(handle))

    def settings(self) -> dict[str, str]:
        """The settings as text, recorded with each decision."""
        return {name: str(value) for name, value in self.model_dump().items()}

    def evaluate(self, figures: CreditFigures) -> tuple[Verdict, list[Reason]]:
        """The verdict on ``figures`` and every reason given (none when nothing weighed)."""
        checks = (self._limit, self._blocked, self._overdue_days, self._overdue_amount)
        reasons = [reason for check in checks for reason in check(figures)]
        if figures.unvalued_items:
            message = f"{figures.unvalued_items} open items are in another currency than the limit"
            reasons.append(Reason(rule="unvalued_items", verdict=Verdict.REFER, message=message))
        verdict = max((r.verdict for r in reasons), key=_SEVERITY.__getitem__, default=None)
        return verdict or Verdict.APPROVE, reasons

    def _limit(self, figures: CreditFigures) -> list[Reason]:
        limit, headroom = figures.credit_limit, figures.headroom_after
        if limit is None:
            return [
                Reason(
                    rule="no_credit_limit",
                    verdict=self.no_credit_limit,
                    message=f"no credit limit in segment {self.credit_segment}",
                )
            ]
        if headroom is None:
            return [
                Reason(
                    rule="currency",
                    verdict=Verdict.REFER,
                    message=f"the order is in {figures.order_amount.currency}, "
                    f"the credit limit in {limit.currency}",
                )
            ]
        if headroom.amount < 0:
            return [
                Reason(
                    rule="over_limit",
                    verdict=self.over_limit,
                    message=f"the order takes exposure {-headroom} over the limit of {limit}",
                )
            ]
        band = (limit.amount * self.referral_band).quantize(Decimal("0.01"))
        if headroom.amount < band:
            return [
                Reason(
                    rule="referral_band",
                    verdict=Verdict.REFER,
                    message=f"the order leaves {headroom} of the limit of {limit}, "
                    f"under the referral band of {band} {limit.currency}",
                )
            ]
        return []

    def _blocked(self, figures: CreditFigures) -> list[Reason]:
        if not figures.account_blocked:
            return []
        return [
            Reason(
                rule="blocked_account",
                verdict=self.blocked_account,
                message="the customer's credit account is blocked in the ERP",
            )
        ]

    def _overdue_days(self, figures: CreditFigures) -> list[Reason]:
        days = figures.oldest_overdue_days
        if days > self.reject_overdue_days:
            return [
                Reason(
                    rule="overdue_days",
                    verdict=Verdict.REJECT,
                    message=f"an item is {days} days overdue, more than {self.reject_overdue_days}",
                )
            ]
        return []

    def _overdue_amount(self, figures: CreditFigures) -> list[Reason]:
        overdue = figures.overdue_amount
        cap = self.reject_overdue_amount
        if cap is not None and overdue.amount > cap:
            return [
                Reason(
                    rule="overdue_amount",
                    verdict=Verdict.REJECT,
                    message=f"{figures.overdue_items} overdue items total {overdue}, "
                    f"more than {cap} {overdue.currency}",
                )
            ]
        if overdue.amount > self.refer_overdue_amount:
            return [
                Reason(
                    rule="overdue_amount",
                    verdict=Verdict.REFER,
                    message=f"{figures.overdue_items} overdue items total {overdue}, "
                    f"more than {self.refer_overdue_amount} {overdue.currency}",
                )
            ]
        return []
