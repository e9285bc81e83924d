"""Credit management: limits per customer and segment, exposure, and the order check.

Exposure is the value of open sales orders that are not credit-blocked and not yet
billed, plus open receivables. An order that would take exposure above the limit of the
customer's account in segment 1000 (or any order of a blocked account) gets credit
status B (blocked); without a credit account no check applies (status blank).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledgerbridge.sandboxes.erp.errors import bad_request
from ledgerbridge.sandboxes.erp.events import CREDIT_ACCOUNT_CHANGED, EventLog
from ledgerbridge.sandboxes.erp.payloads import Clock, Created, children, day, decode, writable
from ledgerbridge.sandboxes.erp.services.credit_management import (
    CREDIT_MANAGEMENT_ACCOUNT,
    CREDIT_MGMT_BUSINESS_PARTNER,
)
from ledgerbridge.sandboxes.erp.store import Record, Store

SEGMENT = "1000"
CHECK_PASSED = "A"
CHECK_BLOCKED = "B"
CHECK_RELEASED = "D"
_ZERO = Decimal("0.00")


class Credit:
    """Credit accounts, exposure and the automatic credit check of sales orders."""

    def __init__(self, store: Store, events: EventLog, clock: Clock) -> None:
        self._store = store
        self._events = events
        self._clock = clock

    def create_partner(self, payload: dict[str, Any]) -> Created:
        """Create credit master data for an existing partner, with deep-inserted accounts."""
        values, navs = decode(CREDIT_MGMT_BUSINESS_PARTNER, payload)
        partner = str(values.get("BusinessPartner") or "")
        if self._store.get("A_BusinessPartner", (partner,)) is None:
            raise bad_request(f"Business partner {partner} does not exist", code="UKM_BP/001")
        if self._store.get("CreditMgmtBusinessPartner", (partner,)) is not None:
            raise bad_request(
                f"Business partner {partner} already has credit data", code="UKM_BP/002"
            )
        values = writable(values)
        values.setdefault("CrdtMgmtBusinessPartnerGroup", "0")
        values.setdefault("CreditRiskClass", "C")
        values.setdefault("CreditCheckRule", "01")
        values.setdefault("CreditScoreAndLimitCalcRule", "STANDARD")
        self._store.insert("CreditMgmtBusinessPartner", (partner,), values)
        for raw in children(navs.get("to_CreditMgmtAccountTP", []), "to_CreditMgmtAccountTP"):
            self.create_account({**raw, "BusinessPartner": partner})
        return Created(CREDIT_MGMT_BUSINESS_PARTNER, (partner,))

    def create_account(self, payload: dict[str, Any]) -> Created:
        """Open a credit account (a limit in one segment) for a credit partner."""
        values, _ = decode(CREDIT_MANAGEMENT_ACCOUNT, payload)
        partner = str(values.get("BusinessPartner") or "")
        segment = str(values.get("CreditSegment") or SEGMENT)
        if self._store.get("CreditMgmtBusinessPartner", (partner,)) is None:
            raise bad_request(f"Business partner {partner} has no credit data", code="UKM_BP/003")
        if self._store.get("CreditManagementAccount", (partner, segment)) is not None:
            raise bad_request(
                f"Credit account {partner}/{segment} already exists", code="UKM_BP/004"
            )
        limit = values.get("CreditLimitAmount") or _ZERO
        values = writable(values)
        values.update(
            BusinessPartner=partner,
            CreditSegment=segment,
            CreditLimitAmount=limit,
            CreditLimitIsZero=limit == 0,
            CreditLimitLastChangeDate=day(self._clock()),
            CreditExposureAmount=self.exposure(partner),
        )
        values.setdefault("CreditSegmentCurrency", "EUR")
        values.setdefault("CreditAccountIsBlocked", False)
        values.setdefault("BusinessPartnerIsCritical", False)
        self._store.insert("CreditManagementAccount", (partner, segment), values)
        return Created(CREDIT_MANAGEMENT_ACCOUNT, (partner, segment))

    def account_changed(self, before: Record, after: dict[str, Any]) -> None:
        """Keep derived fields right after a client changed an account."""
        if after.get("CreditLimitAmount") != before.values.get("CreditLimitAmount"):
            after["CreditLimitLastChangeDate"] = day(self._clock())
        after["CreditLimitIsZero"] = (after.get("CreditLimitAmount") or _ZERO) == 0
        self._events.emit(
            CREDIT_ACCOUNT_CHANGED,
            {"BusinessPartner": after["BusinessPartner"], "CreditSegment": after["CreditSegment"]},
        )

    def exposure(self, partner: str) -> Decimal:
        """Open, unblocked, unbilled orders plus open receivables of `partner`."""
        orders = sum(
            (
                r.values.get("TotalNetAmount") or _ZERO
                for r in self._store.find("A_SalesOrder", SoldToParty=partner)
                if r.values.get("TotalCreditCheckStatus") != CHECK_BLOCKED
                and r.values.get("OverallSDProcessStatus") != "C"
            ),
            _ZERO,
        )
        receivables = sum(
            (
                r.values.get("AmountInTransactionCurrency") or _ZERO
                for r in self._store.find("A_OperationalAcctgDocItemCube", Customer=partner)
                if not r.values.get("IsCleared")
            ),
            _ZERO,
        )
        return Decimal(orders + receivables).quantize(Decimal("0.01"))

    def check(self, partner: str, amount: Decimal) -> str:
        """The credit status a new order of `amount` gets (before it counts in exposure)."""
        account = self._store.get("CreditManagementAccount", (partner, SEGMENT))
        if account is None:
            return ""
        if account.values.get("CreditAccountIsBlocked"):
            return CHECK_BLOCKED
        limit = account.values.get("CreditLimitAmount") or _ZERO
        return CHECK_BLOCKED if self.exposure(partner) + amount > limit else CHECK_PASSED

    def refresh(self, partner: str) -> None:
        """Store the current exposure on the partner's accounts."""
        exposure = self.exposure(partner)
        for record in self._store.find("CreditManagementAccount", BusinessPartner=partner):
            if record.values.get("CreditExposureAmount") != exposure:
                values = {**record.values, "CreditExposureAmount": exposure}
                self._store.update(
                    "CreditManagementAccount", (partner, str(values["CreditSegment"])), values
                )
