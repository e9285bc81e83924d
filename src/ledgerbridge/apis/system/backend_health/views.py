"""Routes of the backend-health System API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from ledgerbridge.apis.system._erp import ErpSwitch
from ledgerbridge.apis.system.backend_health.client import (
    BreakerRead,
    BreakerStates,
    ErpCutoverDone,
    ErpCutoverRequest,
    ErpServing,
)
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.errors import Conflict
from ledgerbridge.runtime.resilience import breaker_states
from ledgerbridge.runtime.security.guard import ADMINISTER, require_scopes

API = ApiMetadata(
    name="backend-health",
    layer=Layer.SYSTEM,
    version=1,
    owner="platform",
    summary=(
        "Circuit breaker states of the backends the System layer calls, and the ERP cut-over."
    ),
    # The write scope is the operators': it lets a caller cut the ERP over.
    scopes=("backend-health:read", "backend-health:write"),
)


def create_app(backends: SystemBackends) -> FastAPI:
    """Build the backend-health API on the registered policies and the ERP switch."""
    router = APIRouter()

    @router.get("/breakers")
    async def list_breakers() -> BreakerStates:
        """Each backend's circuit breaker: state, failures in a row, and when an open one
        lets a probe through."""
        return BreakerStates(
            breakers=[
                BreakerRead(
                    backend=s.backend,
                    state=s.state,
                    failures=s.failures,
                    threshold=s.threshold,
                    reset_timeout_seconds=s.reset_timeout,
                    retry_after_seconds=s.retry_after,
                )
                for s in breaker_states().values()
            ]
        )

    if isinstance(backends.erp, ErpSwitch):
        router.include_router(_erp_router(backends.erp))
    return build_api(API, routers=[router])


def _erp_router(switch: ErpSwitch) -> APIRouter:
    router = APIRouter()

    @router.get("/erp")
    async def erp_serving() -> ErpServing:
        """Which ERP the ERP System APIs serve from."""
        return ErpServing(serving=switch.name)

    # Switching the ERP is the administrators' to do, not any holder of the write scope.
    @router.post("/erp/cut-over", dependencies=[Depends(require_scopes(ADMINISTER))])
    async def cut_over_erp(request: ErpCutoverRequest) -> ErpCutoverDone:
        """Copy the serving ERP's customers, products and orders to another ERP, re-point the
        crosswalk, and switch the ERP System APIs to it without a restart (docs/tryton.md).

        Requests keep being served throughout; the answer comes when the new ERP serves.
        """
        if switch.cutover is None:
            raise Conflict("this house keeps no crosswalk to cut over with", backend="erp")
        if request.to == switch.name:
            raise Conflict(f"{request.to} serves already", backend=request.to)
        copied = await switch.cutover(request.to)
        return ErpCutoverDone(serving=switch.name, copied=dict(copied))

    return router
