"""Published contract of the account-reconciliation Process API: its models and typed client."""

from __future__ import annotations

import enum
from datetime import datetime
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page


class Entity(enum.StrEnum):
    """What a run compares."""

    ACCOUNTS = "accounts"
    ORDERS = "orders"
    INVOICES = "invoices"
    PAYMENTS = "payments"


class DifferenceKind(enum.StrEnum):
    """How a CRM record and its ERP counterpart differ."""

    MISSING_IN_ERP = "missing_in_erp"
    MISSING_IN_CRM = "missing_in_crm"
    FIELD_MISMATCH = "field_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    DUPLICATE = "duplicate"


class Resolution(enum.StrEnum):
    """What the run did about a difference."""

    REPAIRED = "repaired"
    QUEUED = "queued"


class StartReconciliation(BaseModel):
    """Ask for a reconciliation run over some entities."""

    model_config = ConfigDict(extra="forbid")

    entities: list[Entity] = Field(
        default_factory=lambda: list(Entity),
        min_length=1,
        description="What to compare; all four when left out.",
    )
    repair: bool = Field(
        default=True, description="Apply the safe repairs (else every difference is queued)."
    )
    number_range_tail: int = Field(
        default=20,
        ge=0,
        le=1000,
        deprecated=True,
        description="No longer used: a run lists every ERP record instead of probing ERP "
        "numbers. Still accepted (and checked), so requests that send it keep working.",
    )


class EntitySummary(BaseModel):
    """Figures of one entity in a run."""

    compared: int
    matched: int
    differences: int


class RunSummary(BaseModel):
    """The outcome of a run: how much matched, and how every other record is explained."""

    compared: int = Field(description="Records compared (a pair, or a record on one side only).")
    matched: int
    explained: int = Field(description="Compared records with a recorded difference.")
    match_rate: float | None = Field(description="matched / compared.")
    explained_rate: float | None = Field(description="(matched + explained) / compared.")
    repaired: int
    queued: int
    by_kind: dict[str, int]
    by_entity: dict[str, EntitySummary]


class ReconciliationRun(BaseModel):
    """One reconciliation run."""

    run_id: str
    status: str = Field(description="running, completed or failed")
    entities: list[Entity]
    repair: bool
    summary: RunSummary | None
    error: str | None = None
    started_at: datetime
    finished_at: datetime | None


class Difference(BaseModel):
    """One difference a run found, what it did about it, and the evidence."""

    difference_id: int
    run_id: str
    entity: str = Field(description="account, order, invoice or payment")
    kind: DifferenceKind
    crm_id: str | None
    erp_ids: list[str]
    field: str | None
    crm_value: str | None
    erp_value: str | None
    resolution: Resolution
    detail: str
    evidence: dict[str, str | None]


class AccountReconciliationClient(ApiClient):
    """Runs reconciliations of CRM against ERP and reports their differences."""

    base_path = "/process/account-reconciliation/v1"

    async def start(self, request: StartReconciliation) -> ReconciliationRun:
        """Run a reconciliation to its end and return it with its summary."""
        body = request.model_dump(mode="json")
        return await self._call("POST", "/runs", ReconciliationRun, json=body)

    async def get_run(self, run_id: str) -> ReconciliationRun:
        """A run with its summary."""
        return await self._call("GET", f"/runs/{quote(run_id)}", ReconciliationRun)

    async def list_runs(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> Page[ReconciliationRun]:
        """One page of runs, newest first."""
        return await self._page("/runs", ReconciliationRun, filters={}, limit=limit, cursor=cursor)

    async def list_differences(
        self,
        run_id: str,
        *,
        kind: DifferenceKind | None = None,
        resolution: Resolution | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Difference]:
        """One page of a run's differences, in the order found."""
        filters = {
            "kind": None if kind is None else kind.value,
            "resolution": None if resolution is None else resolution.value,
        }
        return await self._page(
            f"/runs/{quote(run_id)}/differences",
            Difference,
            filters=filters,
            limit=limit,
            cursor=cursor,
        )
