"""Published contract of the customer-onboarding Process API: its models and typed client."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page

CRM_ID_PATTERN = r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$"


class Side(StrEnum):
    """One of the two systems a customer lives in."""

    CRM = "crm"
    ERP = "erp"


class OnboardCustomer(BaseModel):
    """Ask for a CRM account to become an ERP customer."""

    model_config = ConfigDict(extra="forbid")

    crm_account_id: str = Field(pattern=CRM_ID_PATTERN, examples=["001000000000001AAA"])


class OnboardedCustomer(BaseModel):
    """A customer known to both systems, and the crosswalk row that links them."""

    canonical_id: str
    crm_id: str
    erp_id: str
    name: str | None = Field(description="The name both sides agree on; None while they differ.")
    onboarded_at: datetime


class FieldSync(BaseModel):
    """What one sync did with one field.

    ``outcome`` is unchanged, to_erp or to_crm (the change was written to that side),
    converged (both sides changed it to the same value) or conflict (queued, see
    ``conflict_id``; ``detail`` says why).
    """

    field: str
    master: Side
    outcome: str
    value: Any = None
    conflict_id: str | None = None
    detail: str | None = None


class CustomerSync(BaseModel):
    """The result of syncing one customer."""

    crm_id: str
    erp_id: str
    fields: list[FieldSync]
    synced_at: datetime


class SyncConflict(BaseModel):
    """A field a person must decide: changed on both sides since the last sync, or changed
    only in the system that does not master it."""

    conflict_id: str
    crm_id: str
    erp_id: str
    field: str
    master: Side = Field(description="The system of record for the field.")
    kind: str = Field(description="both_changed or not_master")
    reason: str
    base_value: Any = Field(description="The value both sides agreed on at the last sync.")
    crm_value: Any
    erp_value: Any
    status: str = Field(description="open or resolved")
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    chosen_side: Side | None = None
    note: str | None = None


class ResolveConflict(BaseModel):
    """Which side's value wins, who decides and why."""

    model_config = ConfigDict(extra="forbid")

    side: Side = Field(description="The side whose value is written to the other.")
    actor: str = Field(min_length=1, max_length=128, examples=["master-data@bank.example"])
    note: str | None = Field(default=None, max_length=2000)


class CustomerOnboardingClient(ApiClient):
    """Onboards CRM accounts as ERP customers and keeps both in sync."""

    base_path = "/process/customer-onboarding/v1"

    async def onboard(
        self, crm_account_id: str, *, idempotency_key: str | None = None
    ) -> OnboardedCustomer:
        """Make a CRM account an ERP customer; repeating it creates nothing more."""
        body = OnboardCustomer(crm_account_id=crm_account_id).model_dump()
        headers = None if idempotency_key is None else {"Idempotency-Key": f'"{idempotency_key}"'}
        return await self._call("POST", "/customers", OnboardedCustomer, json=body, headers=headers)

    async def sync(self, crm_id: str) -> CustomerSync:
        """Sync one onboarded customer both ways under the field policy."""
        return await self._call("POST", f"/customers/{quote(crm_id)}/sync", CustomerSync)

    async def list_conflicts(
        self, *, status: str | None = "open", limit: int = 50, cursor: str | None = None
    ) -> Page[SyncConflict]:
        """One page of the conflict queue, oldest first (open ones by default)."""
        return await self._page(
            "/conflicts", SyncConflict, filters={"status": status}, limit=limit, cursor=cursor
        )

    async def resolve(self, conflict_id: str, request: ResolveConflict) -> SyncConflict:
        """Settle a conflict by writing the chosen side's value to the other side."""
        body = request.model_dump(mode="json")
        return await self._call(
            "POST", f"/conflicts/{quote(conflict_id)}/resolution", SyncConflict, json=body
        )
