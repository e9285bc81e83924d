"""The CRM sandbox app factory: one org, its settings, its routes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import FastAPI, Request
from starlette.responses import Response

from ledgerbridge.sandboxes.crm import (
    admin,
    assertions,
    bulk,
    changes,
    composite,
    describe,
    queries,
    replication,
    sessions,
    sobjects,
)
from ledgerbridge.sandboxes.crm.errors import SalesforceError
from ledgerbridge.sandboxes.crm.faults import FaultInjector
from ledgerbridge.sandboxes.crm.operations import Operations, error_outcome
from ledgerbridge.sandboxes.crm.records import Records
from ledgerbridge.sandboxes.crm.routing import VERSIONED, json_response
from ledgerbridge.sandboxes.crm.state import SandboxState, Settings
from ledgerbridge.sandboxes.crm.store import Store

_SEASONS = ("Winter", "Spring", "Summer")


def _label(major: int) -> str:
    # 59.0 was Winter '24; three releases a year since.
    return f"{_SEASONS[(major - 59) % 3]} '{24 + (major - 59) // 3:02d}"


def _versions(latest: str) -> list[dict[str, str]]:
    return [
        {"label": _label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(sessions.OLDEST_VERSION, int(float(latest)) + 1)
    ]


def create_app(
    *,
    database: str = ":memory:",
    client_id: str = "ledgerbridge",
    client_secret: str = "sandbox-secret",  # noqa: S107 - the sandbox's published test secret
    api_version: str = "59.0",
    username: str = "integration@ledgerbridge.example",
    password: str = "sandbox-password",  # noqa: S107 - the sandbox's published test password
    security_token: str = "sandbox-token",  # noqa: S107 - the sandbox's published test token
    daily_request_limit: int = 15000,
    event_retention: timedelta = timedelta(hours=72),
    jwt_certificate: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build a Salesforce-compatible CRM sandbox.

    Args:
        database: SQLite file holding the org's data; ":memory:" keeps it in memory.
        client_id: the connected app's consumer key.
        client_secret: the connected app's consumer secret.
        api_version: the newest API version served, such as "59.0".
        username: the user the password grant and SOAP login accept.
        password: that user's password.
        security_token: the user's security token, which may follow the password.
        daily_request_limit: API requests allowed per UTC day before REQUEST_LIMIT_EXCEEDED.
        event_retention: how long change events stay replayable.
        jwt_certificate: PEM certificate (or RSA public key) of the connected app, enabling
            the JWT bearer grant for `username`.
        clock: the current UTC time (record dates, quotas, event retention); the system clock
            when None.

    Returns:
        The ASGI app, serving /services/oauth2/token, /services/Soap/u and /services/data/.
    """
    store = Store(database, clock) if clock else Store(database)
    change_log = changes.ChangeLog(store, event_retention)
    settings = Settings(
        client_id=client_id,
        client_secret=client_secret,
        username=username,
        password=password,
        security_token=security_token,
        api_version=api_version,
        daily_request_limit=daily_request_limit,
        jwt_key=assertions.public_key(jwt_certificate) if jwt_certificate else None,
    )
    state = SandboxState(settings=settings, store=store, records=Records(store, store.clock))
    state.records.ensure_standard_pricebook()
    app = FastAPI(
        title="ledgerbridge CRM sandbox",
        description="A Salesforce-compatible REST API over SQLite, for tests and demos.",
        redirect_slashes=False,
    )
    app.state.sandbox = state

    @app.exception_handler(SalesforceError)
    async def refused(request: Request, exc: SalesforceError) -> Response:
        match = VERSIONED.match(request.url.path)
        outcome = error_outcome(exc, match.group(1) if match else api_version)
        return json_response(outcome.body, outcome.status)

    @app.get("/services/data")
    @app.get("/services/data/")
    async def versions() -> Response:
        """List the API versions this sandbox serves."""
        return json_response(_versions(api_version))

    @app.get("/services/data/v{version}")
    @app.get("/services/data/v{version}/")
    async def resources(version: str) -> Response:
        """List the resources of one API version."""
        base = f"/services/data/v{version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite")
        return json_response({name: f"{base}/{name}" for name in names})

    @app.get("/services/data/v{version}/limits")
    @app.get("/services/data/v{version}/limits/")
    async def limits(version: str) -> Response:
        """The org's limits and what remains of them today."""
        used = store.requests_today()
        daily = settings.daily_request_limit
        return json_response(
            {
                "DailyApiRequests": {"Max": daily, "Remaining": max(daily - used, 0)},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
                "FileStorageMB": {"Max": 1024, "Remaining": 1024},
            }
        )

    faults = FaultInjector(store.clock)
    app.state.faults = faults
    sessions.install(app, state, faults)
    app.include_router(admin.routes(state, faults))
    ops = Operations(state)
    app.include_router(describe.routes(state))
    app.include_router(replication.routes(state))
    app.include_router(sobjects.routes(ops))
    app.include_router(queries.routes(ops))
    app.include_router(composite.routes(ops))
    app.include_router(changes.routes(change_log))
    app.include_router(bulk.routes(bulk.Bulk(state)))
    return app
