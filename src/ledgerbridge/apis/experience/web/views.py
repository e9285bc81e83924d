"""The pages: the customer portal and the operations console, rendered on the server.

Pages are Jinja2 templates; the console's actions are htmx requests that swap one row; an
order's live status reaches the portal page as server-sent events. htmx is vendored in
``static/`` (from the npm package htmx.org), so nothing is fetched from the internet.

Users sign in at the token service (``/signin`` starts it, ``/signin/callback`` finishes it;
see ``session``). The portal is a customer's, showing only that customer's data; the console
is for operators and administrators, and its destructive actions for administrators.
"""

from __future__ import annotations

import asyncio
from pathlib import Path as FilePath
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from ledgerbridge.apis.experience.customer_orders import (
    cases_of,
    moves,
    own_case,
    status_events,
    status_label,
)
from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.fanout import attempt
from ledgerbridge.apis.experience.finance_dashboard.views import dashboard_of
from ledgerbridge.apis.experience.web.catalog_graph import layout
from ledgerbridge.apis.experience.web.dead_letters import dead_letter_routes
from ledgerbridge.apis.experience.web.session import (
    PENDING,
    PENDING_SECONDS,
    SESSION,
    SessionMiddleware,
    clear_cookie,
    is_secure,
    read_cookie,
    seal,
    set_cookie,
    unseal,
)
from ledgerbridge.apis.process.dead_letters.client import DeadLettersClient
from ledgerbridge.apis.process.order_to_cash.client import (
    CRM_ID_PATTERN,
    OrderToCashClient,
    ReviewDecision,
)
from ledgerbridge.apis.system.backend_health.client import BackendHealthClient
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.erp_billing_documents.client import ErpBillingDocumentsClient
from ledgerbridge.apis.system.erp_receivables.client import ErpReceivablesClient
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
from ledgerbridge.runtime.errors import NotFound
from ledgerbridge.runtime.security import (
    ADMINISTRATOR,
    CUSTOMER,
    OPERATOR,
    SESSION_PAGES,
    AuthError,
    SignedIn,
    Started,
)

API = ApiMetadata(
    name="web",
    layer=Layer.EXPERIENCE,
    version=1,
    owner="digital-channels",
    summary="The customer portal and the operations console pages.",
    calls=(
        "order-to-cash",
        "crm-accounts",
        "erp-billing-documents",
        "erp-receivables",
        "backend-health",
        "dead-letters",
    ),
)
BASE = API.base_path
# The console's KPI charts read the finance dashboard's figures here, behind the session.
DASHBOARD = f"{BASE}/console/kpis"
CUSTOMERS = frozenset({CUSTOMER})
STAFF = frozenset({OPERATOR, ADMINISTRATOR})
ADMINISTRATORS = frozenset({ADMINISTRATOR})

_templates = Environment(
    loader=PackageLoader("ledgerbridge.apis.experience.web", "templates"),
    autoescape=select_autoescape(("html",)),
)


def _page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(name).render(base=BASE, label=status_label, **context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def _user(request: Request) -> SignedIn | None:
    user = getattr(request.state, "user", None)
    return user if isinstance(user, SignedIn) else None


def _local(path: str | None) -> str | None:
    """``path`` if it is one of these pages (never another site: no open redirect)."""
    if path and path.startswith(f"{BASE}/") and "//" not in path and "\\" not in path:
        return path
    return None


def gate(request: Request, roles: frozenset[str]) -> SignedIn | Response:
    """The signed-in user if one of ``roles`` is theirs; otherwise the answer to send: to
    sign-in without a session (401 for htmx and writes), a 403 page with the wrong role.

    Writes must come from the pages' own htmx (``HX-Request``), on top of SameSite=Lax.
    """
    user = _user(request)
    fragment = request.headers.get("hx-request") == "true"
    if user is None:
        target = f"{BASE}/signin?next={quote(request.url.path)}"
        if fragment or request.method != "GET":
            return Response("Sign in again.", status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if user.roles.isdisjoint(roles):
        return _page("forbidden.html", 403, user=user)
    if request.method != "GET" and not fragment:
        return _page("forbidden.html", 403, user=user)
    return user


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body, first value of each field."""
    fields = parse_qs((await request.body()).decode(), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def create_app(deps: ExperienceDeps) -> FastAPI:
    """Build the pages on the Experience layer's dependencies."""
    order_to_cash = OrderToCashClient(deps.process)
    accounts = CrmAccountsClient(deps.system)
    billing = ErpBillingDocumentsClient(deps.system)
    receivables = ErpReceivablesClient(deps.system)
    backend_health = BackendHealthClient(deps.system)
    budget = deps.source_budget
    finance_dashboard = dashboard_of(deps)
    key = deps.session_key
    sign_in = deps.sign_in
    router = APIRouter(include_in_schema=False)

    def landing(user: SignedIn) -> str:
        return f"{BASE}/portal/orders" if CUSTOMER in user.roles else f"{BASE}/console"

    @router.get("/signin")
    async def start_sign_in(request: Request) -> Response:
        """Start signing in at the token service (PAR with PKCE S256), then come back."""
        if sign_in is None:
            return _page("sign_in_failed.html", 503, reason="Sign-in is not set up here.")
        origin = f"{request.url.scheme}://{request.url.netloc}"
        try:
            started = await sign_in.start(sign_in.redirect_uri(origin))
        except AuthError as exc:
            return _page("sign_in_failed.html", 502, reason=exc.message)
        pending = {
            "state": started.state,
            "verifier": started.verifier,
            "redirect_uri": started.redirect_uri,
            "next": _local(request.query_params.get("next")),
        }
        response = RedirectResponse(started.authorize_url, status_code=303)
        secure = is_secure(request)
        set_cookie(response, PENDING, seal(key, pending), secure=secure, max_age=PENDING_SECONDS)
        return response

    @router.get("/signin/callback")
    async def finish_sign_in(request: Request) -> Response:
        """Where the token service sends the browser back: redeem the code, open the session."""
        secure = is_secure(request)
        pending = unseal(key, read_cookie(request, PENDING))
        query = request.query_params
        try:
            if sign_in is None or pending is None:
                raise AuthError("the sign-in expired or was started elsewhere")
            if "error" in query:
                raise AuthError(f"the token service said {query['error']}")
            started = Started("", pending["state"], pending["verifier"], pending["redirect_uri"])
            user = await sign_in.finish(
                started, code=query.get("code"), state=query.get("state"), iss=query.get("iss")
            )
        except AuthError as exc:
            failed = _page("sign_in_failed.html", 400, reason=exc.message)
            clear_cookie(failed, PENDING, secure=secure)
            return failed
        response = RedirectResponse(_local(pending.get("next")) or landing(user), status_code=303)
        clear_cookie(response, PENDING, secure=secure)
        lifetime = int(float(user.token.claims["exp"]) - float(user.token.claims["iat"]))
        set_cookie(response, SESSION, user.token.raw, secure=secure, max_age=lifetime)
        return response

    @router.post("/signout")
    async def sign_out(request: Request) -> Response:
        """Forget the session."""
        response = RedirectResponse(f"{BASE}/portal", status_code=303)
        clear_cookie(response, SESSION, secure=is_secure(request))
        return response

    @router.get("/portal")
    async def portal(request: Request) -> Response:
        """The portal's front door, or the orders of a customer already signed in."""
        user = _user(request)
        if user is not None and CUSTOMER in user.roles:
            return RedirectResponse(f"{BASE}/portal/orders", status_code=303)
        return _page("portal_sign_in.html", user=user)

    @router.get("/portal/orders")
    async def my_orders(request: Request) -> Response:
        """The signed-in customer's orders, invoices and payments."""
        user = gate(request, CUSTOMERS)
        if isinstance(user, Response):
            return user
        customer = str(user.customer_id)
        party = await accounts.get_account(customer)
        orders = await cases_of(order_to_cash, customer)
        invoices = payments = None
        if party.erp_id is not None:
            found_invoices = await attempt(
                billing.list_invoices(customer_erp_id=party.erp_id, limit=50),
                source="erp-billing-documents",
                budget=budget,
            )
            found_payments = await attempt(
                receivables.list_payments(customer_erp_id=party.erp_id, limit=50),
                source="erp-receivables",
                budget=budget,
            )
            invoices = found_invoices.value.items if found_invoices.value else None
            payments = found_payments.value.items if found_payments.value else None
        else:
            invoices, payments = [], []
        return _page(
            "portal_orders.html",
            user=user,
            customer=party,
            orders=orders,
            invoices=invoices,
            payments=payments,
        )

    @router.get("/portal/orders/{order_id}")
    async def my_order(request: Request, order_id: str = Path(pattern=CRM_ID_PATTERN)) -> Response:
        """One of the customer's orders, its status kept live by server-sent events."""
        user = gate(request, CUSTOMERS)
        if isinstance(user, Response):
            return user
        try:
            case = await own_case(order_to_cash, str(user.customer_id), order_id)
        except NotFound:
            return _page("not_found.html", 404, user=user)
        return _page("portal_order.html", user=user, case=case, moves=moves(case))

    @router.get("/portal/orders/{order_id}/events")
    async def my_order_events(
        request: Request, order_id: str = Path(pattern=CRM_ID_PATTERN)
    ) -> Response:
        """The order's status as server-sent events, for the signed-in customer only."""
        user = _user(request)
        if user is None or user.customer_id is None:
            return Response(status_code=401)
        case = await own_case(order_to_cash, user.customer_id, order_id)
        return StreamingResponse(
            status_events(order_to_cash, case, interval=deps.watch_interval),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/console")
    async def console(request: Request) -> Response:
        """Cases with their timelines, the review queue with its actions, dead letters (loaded
        by htmx), circuit breakers, KPI charts and the API catalog."""
        user = gate(request, STAFF)
        if isinstance(user, Response):
            return user
        cases, reviews, breakers = await asyncio.gather(
            attempt(order_to_cash.list_cases(limit=50), source="order-to-cash", budget=budget),
            attempt(order_to_cash.list_reviews(limit=50), source="order-to-cash", budget=budget),
            attempt(backend_health.breaker_states(), source="backend-health", budget=budget),
        )
        return _page(
            "console.html",
            user=user,
            administrator=ADMINISTRATOR in user.roles,
            cases=cases.value.items if cases.value is not None else None,
            cases_error=cases.failure.message if cases.failure is not None else None,
            reviews=reviews.value.items if reviews.value is not None else None,
            breakers=breakers.value.breakers if breakers.value is not None else None,
            dashboard=DASHBOARD,
            graph=layout(deps.catalog()),
        )

    @router.get("/console/kpis")
    async def console_kpis(
        request: Request, days: int = Query(default=14, ge=1, le=366)
    ) -> Response:
        """The finance dashboard's figures for the console's KPI charts, for staff signed
        in to the pages (the browser holds a session, not a token to the dashboard API)."""
        user = gate(request, STAFF)
        if isinstance(user, Response):
            return user
        board = await finance_dashboard(days)
        return Response(
            board.model_dump_json(),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    @router.post("/console/reviews/{review_id}/{action}")
    async def resolve_review(
        request: Request,
        review_id: str = Path(pattern=r"^[0-9a-f-]{36}$"),
        action: str = Path(pattern=r"^(approve|reject)$"),
    ) -> Response:
        """Approve or reject a review item; answers its row, resolved (an htmx swap)."""
        user = gate(request, STAFF)
        if isinstance(user, Response):
            return user
        decision = ReviewDecision(actor=user.subject, note=f"{action}d in the console")
        if action == "approve":
            review = await order_to_cash.approve(review_id, decision)
        else:
            review = await order_to_cash.reject(review_id, decision)
        return _page("review_row.html", review=review)

    dead_letters = dead_letter_routes(
        DeadLettersClient(deps.process),
        render=_page,
        read_form=_form,
        gate=gate,
        staff=STAFF,
        administrators=ADMINISTRATORS,
    )
    app = build_api(API, routers=[router, dead_letters])
    # The pages authenticate their users by session cookie, not by bearer token.
    setattr(app.state, SESSION_PAGES, True)
    app.add_middleware(SessionMiddleware, sign_in=sign_in)
    app.mount("/static", StaticFiles(directory=FilePath(__file__).parent / "static"), name="static")
    return app
