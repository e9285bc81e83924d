"""The sandbox's own controls for tests and demos, under /sandbox/admin.

They take HTTP Basic with the connected app's client id and secret, and are never faulted.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.faults import FaultInjector, FaultPlan
from ledgerbridge.sandboxes.crm.state import SandboxState


def _check(request: Request, state: SandboxState) -> None:
    expected = f"{state.settings.client_id}:{state.settings.client_secret}".encode()
    given = request.headers.get("authorization", "")
    try:
        decoded = base64.b64decode(given.removeprefix("Basic "), validate=True)
    except ValueError:
        decoded = b""
    if not given.startswith("Basic ") or not hmac.compare_digest(decoded, expected):
        raise SalesforceError(401, "INVALID_AUTH", "Admin calls need HTTP Basic client id:secret")


def routes(state: SandboxState, faults: FaultInjector) -> APIRouter:
    """Fault plans and session expiry."""
    router = APIRouter(prefix="/sandbox/admin")

    @router.put("/faults")
    async def set_faults(plan: FaultPlan, request: Request) -> dict[str, Any]:
        """Replace the fault plan (and restart its seeded random stream)."""
        _check(request, state)
        faults.load(plan)
        return {"plan": faults.plan.model_dump(mode="json"), "injected": faults.injected}

    @router.get("/faults")
    async def get_faults(request: Request) -> dict[str, Any]:
        """The current fault plan and how many faults of each kind it injected."""
        _check(request, state)
        return {"plan": faults.plan.model_dump(mode="json"), "injected": faults.injected}

    @router.delete("/faults", status_code=204)
    async def clear_faults(request: Request) -> Response:
        """Remove every fault rule."""
        _check(request, state)
        faults.load(FaultPlan())
        return Response(status_code=204)

    @router.post("/sessions/expire", status_code=204)
    async def expire_sessions(request: Request) -> Response:
        """Forget every access token, as a session timeout would: clients must log in again."""
        _check(request, state)
        state.store.revoke_sessions()
        return Response(status_code=204)

    return router
