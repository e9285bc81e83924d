"""Published contract of the backend-health System API: its models and typed client."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.resilience import BreakerState


class BreakerRead(BaseModel):
    """One backend's circuit breaker as it stands now."""

    backend: str
    state: BreakerState
    failures: int
    threshold: int
    reset_timeout_seconds: float
    retry_after_seconds: int | None = None


class BreakerStates(BaseModel):
    """Every backend's circuit breaker, by backend name."""

    breakers: list[BreakerRead]


_CUTOVER_EXAMPLE: dict[str, Any] = {
    "serving": "tryton",
    "copied": {
        "products": 3,
        "parties": 12,
        "orders": 40,
        "caught_up": 5,
        "repointed": 52,
        "renumbered": 52,
        "rewrite_pending": 0,
    },
}


class ErpServing(BaseModel):
    """Which ERP the ERP System APIs serve from."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"serving": "s4hana"}]})

    serving: str = Field(examples=["s4hana"])


class ErpCutoverRequest(BaseModel):
    """The ERP to cut over to."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "tryton"}]})

    to: Literal["s4hana", "tryton"] = Field(examples=["tryton"])


class ErpCutoverDone(BaseModel):
    """The ERP serving after a cut-over, and what the cut-over copied and re-pointed:
    ``renumbered`` records got new ids, ``rewrite_pending`` of them were still named by their
    old ids somewhere (the CRM, a Process store) when the answer left."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CUTOVER_EXAMPLE]})

    serving: str = Field(examples=["tryton"])
    copied: dict[str, int] = Field(examples=[_CUTOVER_EXAMPLE["copied"]])


class BackendHealthClient(ApiClient):
    """Circuit breaker states of the backends the System layer calls."""

    base_path = "/system/backend-health/v1"

    async def breaker_states(self) -> BreakerStates:
        """The breaker of each backend: closed, open (with the wait) or half-open."""
        return await self._call("GET", "/breakers", BreakerStates)

    async def erp_serving(self) -> ErpServing:
        """Which ERP the ERP System APIs serve from."""
        return await self._call("GET", "/erp", ErpServing)

    async def cut_over_erp(self, to: Literal["s4hana", "tryton"]) -> ErpCutoverDone:
        """Copy the serving ERP's records to ``to`` and switch the ERP System APIs to it."""
        return await self._call(
            "POST", "/erp/cut-over", ErpCutoverDone, json=ErpCutoverRequest(to=to).model_dump()
        )
