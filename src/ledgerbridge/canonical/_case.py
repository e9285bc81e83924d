"""Service cases raised by customers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator

from ledgerbridge.canonical._base import CanonicalModel, UtcDatetime

__all__ = ["Case", "CasePriority", "CaseStatus"]


class CaseStatus(StrEnum):
    """Where a case stands."""

    NEW = "new"
    WORKING = "working"
    ESCALATED = "escalated"
    CLOSED = "closed"


class CasePriority(StrEnum):
    """How urgent a case is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Case(CanonicalModel):
    """A customer service case; only a closed case has a closing time, after its opening."""

    canonical_id: str | None = None
    crm_id: str | None = None
    case_number: str | None = None
    account_crm_id: str | None = None
    contact_crm_id: str | None = None
    order_crm_id: str | None = None
    subject: str = Field(min_length=1)
    description: str | None = None
    status: CaseStatus = CaseStatus.NEW
    priority: CasePriority = CasePriority.MEDIUM
    origin: str | None = None
    opened_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None

    @field_validator("closed_at")
    @classmethod
    def _closed_only_when_closed(
        cls, value: UtcDatetime | None, info: ValidationInfo
    ) -> UtcDatetime | None:
        status, opened = info.data.get("status"), info.data.get("opened_at")
        if value is not None and status is not CaseStatus.CLOSED:
            raise ValueError(f"a {status} case has no closing time")
        if value is not None and opened is not None and value < opened:
            raise ValueError(f"closed {value.isoformat()}, before it opened {opened.isoformat()}")
        return value
