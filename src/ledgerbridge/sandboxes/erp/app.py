"""The FastAPI application: Basic auth, CSRF sessions and the OData routes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx
from fastapi import FastAPI, Request, Response

from ledgerbridge.sandboxes.erp.admin import admin_router
from ledgerbridge.sandboxes.erp.batch import parse_batch, run_batch
from ledgerbridge.sandboxes.erp.dispatch import WRITE_METHODS, Call, Dispatcher, Reply
from ledgerbridge.sandboxes.erp.erp import Erp
from ledgerbridge.sandboxes.erp.errors import ODataError, not_found
from ledgerbridge.sandboxes.erp.events import deliver_due
from ledgerbridge.sandboxes.erp.faults import FaultInjector
from ledgerbridge.sandboxes.erp.payloads import Clock
from ledgerbridge.sandboxes.erp.services import SERVICES
from ledgerbridge.sandboxes.erp.store import Store

ODATA_ROOT = "/sap/opu/odata/sap"
SESSION_COOKIE = "SAP_SESSIONID_LBS_100"
_EVENT_LOOP_INTERVAL = 0.5
_log = logging.getLogger(__name__)


class _Sessions:
    """CSRF tokens bound to session cookies, as SAP Gateway issues them.

    Only the most recent sessions are kept, so clients that fetch a token per request
    (load generators) cannot grow memory without bound; an evicted session simply gets
    403 Required and fetches again, as after a Gateway session timeout.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self.tokens: OrderedDict[str, str] = OrderedDict()

    def fetch(self, session: str | None) -> tuple[str, str]:
        if session is None or session not in self.tokens:
            session = secrets.token_urlsafe(24)
            self.tokens[session] = secrets.token_urlsafe(18)
            while len(self.tokens) > self.LIMIT:
                self.tokens.popitem(last=False)
        return session, self.tokens[session]

    def valid(self, session: str | None, token: str | None) -> bool:
        return session is not None and token is not None and self.tokens.get(session) == token


def _response(reply: Reply) -> Response:
    return Response(
        reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    *,
    database: str = ":memory:",
    username: str = "LEDGERBRIDGE",
    password: str = "sandbox-secret",  # noqa: S107 - the documented sandbox default
    delivery_delay: float | None = None,
    clock: Clock = _utc_now,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    page_size: int = 1000,
) -> FastAPI:
    """Build the S/4HANA-compatible sandbox.

    Args:
        database: SQLite file path, or ":memory:" for a throwaway store.
        username: the one technical user accepted by HTTP Basic auth.
        password: that user's password.
        delivery_delay: seconds after which an unblocked order is delivered by itself;
            None delivers only on the admin's call.
        clock: the time source (UTC), injectable so tests control delays.
        webhook_transport: how event webhooks are sent (default: real HTTP).
        page_size: most entities per response; longer results end with a `__next` link.

    Returns:
        The ASGI application serving the OData services under /sap/opu/odata/sap/ and
        the sandbox's own routes under /sandbox/.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    store = Store(database)
    erp = Erp(
        store,
        user=username,
        clock=clock,
        delivery_delay=None if delivery_delay is None else timedelta(seconds=delivery_delay),
    )
    sessions = _Sessions()
    faults = FaultInjector(clock)
    webhooks = httpx.AsyncClient(transport=webhook_transport, timeout=5.0)
    expected_auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async def pump() -> None:
            while True:
                try:
                    erp.tick()
                    await deliver_due(erp.events, webhooks)
                except Exception:
                    # Keep pumping: one bad round must not stop deliveries for good.
                    _log.exception("event pump round failed")
                await asyncio.sleep(_EVENT_LOOP_INTERVAL)

        task = asyncio.create_task(pump())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await webhooks.aclose()

    app = FastAPI(
        title="S/4HANA sandbox", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.store = store
    app.state.erp = erp
    app.state.faults = faults

    @app.middleware("http")
    async def authenticate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), expected_auth.encode()):
            reply = Reply.error(ODataError(401, "/IWFND/CM_CONSUMER/401", "Logon failed"))
            reply.headers["WWW-Authenticate"] = 'Basic realm="SAP NetWeaver Application Server"'
            return _response(reply)
        try:
            await faults.apply(request.method, request.url.path)
        except ODataError as error:
            return _response(Reply.error(error))
        return await call_next(request)

    @app.exception_handler(ODataError)
    async def odata_error(_: Request, exc: ODataError) -> Response:
        return _response(Reply.error(exc))

    @app.post("/sandbox/admin/csrf/invalidate", status_code=204)
    async def invalidate_csrf() -> Response:
        """Expire every CSRF token, as a Gateway session timeout would."""
        sessions.tokens.clear()
        return Response(status_code=204)

    app.include_router(admin_router(erp, webhooks, faults))

    @app.api_route(
        ODATA_ROOT + "/{service_name}/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "MERGE", "DELETE"],
    )
    async def odata(service_name: str, path: str, request: Request) -> Response:
        """Serve one OData V2 request (or a $batch of them)."""
        service = SERVICES.get(service_name)
        if service is None:
            raise not_found(f"Service {service_name} not found")
        session = request.cookies.get(SESSION_COOKIE)
        if request.method in WRITE_METHODS and not sessions.valid(
            session, request.headers.get("x-csrf-token")
        ):
            raise ODataError(
                403,
                "/IWFND/CM_CONSUMER/403",
                "CSRF token validation failed",
                headers={"X-CSRF-Token": "Required"},
            )
        erp.tick()
        service_path = f"{ODATA_ROOT}/{service.name}"
        dispatcher = Dispatcher(
            service,
            erp,
            f"{str(request.base_url).rstrip('/')}{service_path}",
            page_size=page_size,
        )
        body = await request.body()
        if unquote(path).strip("/") == "$batch" and request.method == "POST":
            parts = parse_batch(body, request.headers.get("content-type", ""), service_path)
            content, content_type = run_batch(dispatcher, store, parts)
            response = Response(content, status_code=202, media_type=content_type)
        else:
            call = Call(request.method, unquote(path), request.url.query, request.headers, body)
            response = _response(dispatcher.handle(call))
        if request.method == "GET" and request.headers.get("x-csrf-token", "").lower() == "fetch":
            session, token = sessions.fetch(session)
            response.headers["X-CSRF-Token"] = token
            response.set_cookie(SESSION_COOKIE, session, httponly=True, path="/")
        return response

    return app
