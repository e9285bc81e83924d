"""How a version answers for its lifecycle: headers while deprecated, 410 Gone after sunset,
and ``GET <base>/lifecycle`` telling its dates, successor and who still calls it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerbridge.runtime.context import correlation_id_var
from ledgerbridge.runtime.observability import (
    Insight,
    callers_of,
    flush_usage,
    route_path,
)
from ledgerbridge.runtime.problems import PROBLEM_MEDIA_TYPE, Problem
from ledgerbridge.runtime.versioning._lifecycle import Lifecycle, VersionStatus, lifecycle_headers

__all__ = [
    "Caller",
    "LifecycleMiddleware",
    "MountedVersion",
    "VersionLifecycle",
    "install_lifecycle",
]

_ALWAYS_SERVED = frozenset({"/healthz", "/readyz", "/metrics", "/lifecycle"})
_DEFAULT_INSIGHT = Insight()


class MountedVersion(Protocol):
    """What serving a lifecycle needs of an API version."""

    @property
    def name(self) -> str: ...
    @property
    def layer(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def base_path(self) -> str: ...
    @property
    def lifecycle(self) -> Lifecycle: ...


class Caller(BaseModel):
    """One consumer of a version over the window asked for."""

    consumer: str
    calls: int
    errors: int
    days_active: int
    first_day: date
    last_day: date
    p95_ms: float


class VersionLifecycle(BaseModel):
    """A version's lifecycle, and who still calls it (when the house keeps analytics)."""

    api: str
    version: int
    status: VersionStatus
    deprecated: datetime | None
    sunset: datetime | None
    successor: str | None
    window_days: int
    callers: list[Caller] | None


def _insight(scope: Scope) -> Insight:
    insight: Insight = getattr(scope["app"].state, "insight", _DEFAULT_INSIGHT)
    return insight


def _successor_path(api: MountedVersion) -> str | None:
    successor = api.lifecycle.successor
    return None if successor is None else f"/{api.layer}/{api.name}/v{successor}"


class LifecycleMiddleware:
    """Deprecation headers on a deprecated version; 410 Gone once it is past its sunset."""

    def __init__(self, app: ASGIApp, *, api: MountedVersion) -> None:
        self.app = app
        self.api = api
        self.successor = _successor_path(api)
        self.headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in lifecycle_headers(
                api.lifecycle, info_url=f"{api.base_path}/lifecycle", successor_url=self.successor
            )
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.headers:
            await self.app(scope, receive, send)
            return
        now = _insight(scope).clock.now()
        if (
            self.api.lifecycle.status(now) is VersionStatus.SUNSET
            and route_path(scope) not in _ALWAYS_SERVED
        ):
            await self._gone(scope)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _gone(self, scope: Scope) -> JSONResponse:
        api, sunset = self.api, self.api.lifecycle.sunset
        assert sunset is not None
        moved = f"; use {self.successor}" if self.successor else ""
        body = Problem(
            type="https://ledgerbridge.dev/problems/version-sunset",
            title="API version retired",
            status=410,
            detail=f"{api.name} v{api.version} was retired on {sunset:%Y-%m-%d}{moved}",
            instance=scope["path"],
            correlation_id=correlation_id_var.get(),
        ).model_dump(exclude_none=True, exclude={"errors"})
        # RFC 9457 extension members: where to go instead.
        body["successor_version"] = self.successor
        response = JSONResponse(body, status_code=410, media_type=PROBLEM_MEDIA_TYPE)
        response.raw_headers.extend(self.headers)
        return response


def install_lifecycle(app: FastAPI, api: MountedVersion) -> None:
    """Serve ``api``'s lifecycle on ``app``: the middleware and ``GET /lifecycle``."""
    app.add_middleware(LifecycleMiddleware, api=api)
    router = APIRouter()
    successor = _successor_path(api)

    @router.get("/lifecycle", include_in_schema=False)
    async def lifecycle(request: Request, days: int = Query(30, ge=1, le=366)) -> VersionLifecycle:
        insight = _insight(request.scope)
        callers = None
        if insight.store is not None:
            if insight.usage is not None:
                await flush_usage(insight.usage, insight.store)
            found = await callers_of(
                insight.store,
                api=api.name,
                version=api.version,
                days=days,
                today=insight.clock.now().date(),
            )
            callers = [Caller.model_validate(c, from_attributes=True) for c in found]
        return VersionLifecycle(
            api=api.name,
            version=api.version,
            status=api.lifecycle.status(insight.clock.now()),
            deprecated=api.lifecycle.deprecated,
            sunset=api.lifecycle.sunset,
            successor=successor,
            window_days=days,
            callers=callers,
        )

    app.include_router(router)
