"""The one app factory every API is built with, so all share the same middleware and errors.

An API module declares its metadata and routes; the factory adds the rest::

    API = ApiMetadata(name="crm-orders", layer=Layer.SYSTEM, version=1, owner="crm-team",
                      summary="Orders held in the CRM, in canonical form.")
    app = build_api(API, routers=[router], readiness=[ping_crm])
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from ledgerbridge.runtime.audit.writes import install_audit
from ledgerbridge.runtime.json_guard import RejectUnencodableJson
from ledgerbridge.runtime.middleware import RequestContextMiddleware
from ledgerbridge.runtime.observability import METRICS_MEDIA_TYPE, InsightMiddleware, render_metrics
from ledgerbridge.runtime.problems import Problem, install_problem_handlers, problem_response
from ledgerbridge.runtime.versioning import Lifecycle, install_lifecycle

if TYPE_CHECKING:
    from ledgerbridge.runtime.audit import AuditTrail
    from ledgerbridge.runtime.security import ResourceGuard

ReadinessCheck = Callable[[], Awaitable[None]]


class Layer(enum.StrEnum):
    """The three layers of API-led connectivity."""

    SYSTEM = "system"
    PROCESS = "process"
    EXPERIENCE = "experience"


@dataclass(frozen=True, slots=True)
class Slo:
    """The service level an API promises: availability and 95th-percentile latency."""

    availability_percent: float = 99.5
    p95_ms: int = 500

    def __str__(self) -> str:
        return f"{self.availability_percent}%, p95 {self.p95_ms} ms"


@dataclass(frozen=True, slots=True)
class ApiMetadata:
    """What the catalog knows of an API: who it is, where it lives and whom it calls."""

    name: str
    layer: Layer
    version: int
    owner: str
    summary: str
    scopes: tuple[str, ...] = ()
    calls: tuple[str, ...] = field(default=())
    lifecycle: Lifecycle = field(default=Lifecycle())
    slo: Slo = field(default=Slo())

    @property
    def base_path(self) -> str:
        """Where the API is mounted: ``/<layer>/<name>/v<version>``."""
        return f"/{self.layer}/{self.name}/v{self.version}"


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (400, 404, 409, 412, 422, 500, 503)
}


def operation_id(route: APIRoute) -> str:
    """``<method>_<path words>``, e.g. ``get_orders_order_id_lines``.

    Derived from what clients see, so renaming a handler never changes a published id.
    """
    words = re.findall(r"[a-z0-9]+", route.path_format.lower())
    return "_".join([min(route.methods or {"GET"}).lower(), *words])


def build_api(
    meta: ApiMetadata,
    *,
    routers: Sequence[APIRouter],
    readiness: Sequence[ReadinessCheck] = (),
    guard: ResourceGuard | None = None,
    audit: AuditTrail | None = None,
) -> FastAPI:
    """Build one API with the house middleware, problem+json errors and health probes.

    Args:
        meta: The API's identity; it also becomes the OpenAPI info and the catalog entry.
        routers: The API's routes, relative to its base path.
        readiness: Checks that must pass for /readyz to answer 200 (a database ping, a backend).
        guard: Checks access tokens and scopes on every request; None when auth is off.
        audit: Where every write to the API is recorded, refused ones included.

    Returns:
        The ASGI app, to be mounted at ``meta.base_path``.
    """
    app = FastAPI(
        title=meta.name,
        version=f"v{meta.version}",
        summary=meta.summary,
        responses=_ERROR_RESPONSES,
        openapi_tags=[{"name": meta.name, "description": meta.summary}],
        generate_unique_id_function=operation_id,
        # The insight middleware makes the server span, with the ids the house echoes.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.api = meta
    install_problem_handlers(app)
    # Innermost first: the lifecycle answers 410s the insight middleware then counts.
    install_lifecycle(app, meta)
    if audit is not None:
        install_audit(app, audit)
    if guard is not None:
        guard.install(app)
    app.add_middleware(
        InsightMiddleware, api=meta.name, layer=meta.layer.value, version=meta.version
    )
    app.add_middleware(RejectUnencodableJson)
    app.add_middleware(RequestContextMiddleware, api_name=meta.name)
    for router in routers:
        app.include_router(router, tags=[meta.name])

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {
            "status": "ok",
            "api": meta.name,
            "layer": meta.layer,
            "version": f"v{meta.version}",
        }

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(render_metrics(), media_type=METRICS_MEDIA_TYPE)

    @app.get("/readyz", include_in_schema=False, response_model=None)
    async def readyz() -> JSONResponse | dict[str, str]:
        for check in readiness:
            try:
                await check()
            except Exception as exc:  # any failure at all means "not ready"
                return problem_response(
                    503, detail=f"{getattr(check, '__name__', 'check')}: {exc}", kind="not-ready"
                )
        return {"status": "ready"}

    return app


def close_docs(app: FastAPI) -> None:
    """Stop serving ``app``'s docs pages (/docs, /redoc) and its OpenAPI JSON over HTTP.

    The document itself is still built in-process (``app.openapi()``), which is what the
    contract snapshots and the catalog read; production turns the pages off (see
    ``Settings.docs_exposed``).
    """
    served = {
        app.openapi_url,
        app.docs_url,
        app.redoc_url,
        app.swagger_ui_oauth2_redirect_url,
    } - {None}
    app.router.routes[:] = [
        route
        for route in app.router.routes
        if isinstance(route, APIRoute) or getattr(route, "path", None) not in served
    ]
    app.openapi_url = app.docs_url = app.redoc_url = None
    app.swagger_ui_oauth2_redirect_url = None


def metadata_of(app: FastAPI) -> ApiMetadata:
    """The metadata an app was built with."""
    meta = app.state.api
    assert isinstance(meta, ApiMetadata)
    return meta
