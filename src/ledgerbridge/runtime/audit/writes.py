"""Every write to an API, answered or refused, as an entry of the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerbridge.runtime.audit.trail import AuditTrail

if TYPE_CHECKING:
    from fastapi import FastAPI

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def install_audit(app: FastAPI, trail: AuditTrail) -> None:
    """Record every write (POST, PUT, PATCH, DELETE) to ``app`` in ``trail``.

    Installed before the security guard, it sits outside it and so also records the writes
    the guard refuses.
    """
    if app.middleware_stack is not None:
        raise RuntimeError("the audit must be installed before the app serves")
    app.user_middleware.append(
        Middleware(AuditWritesMiddleware, trail=trail, api=app.state.api.name)
    )


class AuditWritesMiddleware:
    """The ASGI side of :func:`install_audit`; the guard goes inside it."""

    def __init__(self, app: ASGIApp, *, trail: AuditTrail, api: str) -> None:
        self.app = app
        self.trail = trail
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The guard leaves the caller's validated token in the request state.
            token: Any = scope.get("state", {}).get("access_token")
            claims = getattr(token, "claims", {})
            await self.trail.record(
                "api.write",
                actor=str(claims.get("client_id") or claims.get("sub") or "anonymous"),
                subject=claims.get("sub"),
                target=f"{self.api} {scope['method']} {scope['path']}",
                detail={"status": status, "act": claims.get("act")},
            )
