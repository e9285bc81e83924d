"""The resource side of every API: access token, DPoP proof, scopes, the headers that name
whose data a request is about (held to the token's claims), body size and request rate,
checked per request.

:meth:`ResourceGuard.install` puts the check inside the app factory's own middleware, so that
a refusal still carries the correlation id and is counted by the metrics, and outside what the
API added (idempotency). Refusals are problem+json with an RFC 6750 / RFC 9449
``WWW-Authenticate`` challenge (401, 403), or a 413 or 429 (see ``limits``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerbridge.runtime.audit.writes import AuditWritesMiddleware
from ledgerbridge.runtime.json_guard import RejectUnencodableJson
from ledgerbridge.runtime.middleware import RequestContextMiddleware
from ledgerbridge.runtime.observability import InsightMiddleware
from ledgerbridge.runtime.problems import problem_response
from ledgerbridge.runtime.security._errors import (
    AuthError,
    DpopNonceRequired,
    InsufficientScope,
    InvalidDpopProof,
    InvalidToken,
    NotYours,
)
from ledgerbridge.runtime.security.dpop import NONCE_HEADER, DpopVerifier, NonceSource
from ledgerbridge.runtime.security.keys import Clock, KeySource
from ledgerbridge.runtime.security.limits import (
    RedisTokenBuckets,
    TokenBuckets,
    caller_key,
    declared_length,
    read_within,
    too_large,
    too_many,
)
from ledgerbridge.runtime.security.replay import RedisReplayCache, ReplayCache
from ledgerbridge.runtime.security.tokens import (
    AccessToken,
    TokenValidator,
    algorithm_allow_list,
    current_token_var,
)
from ledgerbridge.runtime.versioning import LifecycleMiddleware

if TYPE_CHECKING:
    import redis
    from fastapi import FastAPI

    from ledgerbridge.runtime.app_factory import ApiMetadata
    from ledgerbridge.runtime.settings import AuthSettings

#: Probes, metrics and the published contract stay open: the platform reads them unauthenticated.
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc", "/lifecycle"}
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BODY_READERS: frozenset[object] = frozenset({RejectUnencodableJson})
# The factory's own middleware; the audit of writes is among them, to record refused writes.
_FACTORY_MIDDLEWARE: frozenset[object] = frozenset(
    {
        RequestContextMiddleware,
        InsightMiddleware,
        RejectUnencodableJson,
        LifecycleMiddleware,
        AuditWritesMiddleware,
    }
)
_REALM = "ledgerbridge"
#: Headers that name whose data a request is about, and the claims that bind them: a token
#: carrying the claim may only name that value (the header is set from it when absent).
#: A partner's token must carry ``partner_id``; a staff token (no ``customer_id``) may name
#: any customer.
BOUND_HEADERS = {b"x-customer-id": "customer_id", b"x-partner-id": "partner_id"}
_CLAIM_REQUIRED = frozenset({"partner_id"})


def operation_scopes(declared: tuple[str, ...], method: str) -> tuple[str, ...]:
    """The scopes of which one is needed for ``method``: ``*:read`` for safe methods,
    ``*:write`` otherwise; an API declaring neither kind asks for any of its scopes."""
    suffix = "read" if method.upper() in _SAFE_METHODS else "write"
    matching = tuple(s for s in declared if s.rsplit(":", 1)[-1] == suffix)
    return matching or declared


def _credentials(scope: Scope) -> tuple[str, str, str | None]:
    authorization = proof = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"dpop":
            if proof is not None:
                raise InvalidDpopProof("exactly one DPoP header is allowed")
            proof = value.decode("latin-1")
    if authorization is None:
        raise InvalidToken("no access token was presented")
    kind, _, token = authorization.partition(" ")
    if kind.lower() not in {"bearer", "dpop"} or not token.strip():
        raise InvalidToken("the Authorization header is not Bearer or DPoP")
    return kind.lower(), token.strip(), proof


class ResourceGuard:
    """Checks every request to an API: a valid token for it, DPoP where bound or required,
    and a scope for the operation.

    Usage::

        guard = ResourceGuard(validator, dpop=DpopVerifier(nonces=NonceSource()))
        app = build_api(API, routers=[router], guard=guard)   # or guard.install(app)
    """

    def __init__(
        self,
        validator: TokenValidator,
        *,
        dpop: DpopVerifier,
        audience_prefix: str = "urn:ledgerbridge:",
        dpop_required_apis: tuple[str, ...] = (),
        rate: TokenBuckets | None = None,
        max_body_bytes: int = 1_048_576,
    ) -> None:
        self.validator = validator
        self.dpop = dpop
        self.audience_prefix = audience_prefix
        self.dpop_required_apis = frozenset(dpop_required_apis)
        self.rate = rate or TokenBuckets(burst=100, rate=20.0)
        self.max_body_bytes = max_body_bytes
        # The house's own APIs, as clients: their hops are not rate limited.
        self.internal_clients: set[str] = set()

    @classmethod
    def from_settings(
        cls,
        auth: AuthSettings,
        *,
        keys: KeySource,
        clock: Clock = time.time,
        shared: redis.Redis | None = None,
    ) -> ResourceGuard:
        """The guard ``auth`` describes, reading the issuer's keys from ``keys``.

        Args:
            auth: The auth settings (issuer, algorithms, skew, DPoP).
            keys: The embedded token service's KeyRing, or a JwksCache of an external issuer.
            clock: Seconds since the epoch; tests pass a fixed one.
            shared: Redis, where the DPoP replay cache and the request budgets are kept for
                every replica; None keeps them in this process.
        """
        validator = TokenValidator(
            auth.issuer,
            keys,
            algorithms=algorithm_allow_list(auth.algorithms, allow_rs256=auth.allow_rs256),
            skew_seconds=auth.clock_skew_seconds,
            clock=clock,
        )
        nonce_secret = auth.nonce_secret
        nonces = NonceSource(
            bytes.fromhex(nonce_secret.get_secret_value()) if nonce_secret else None, clock=clock
        )
        burst, per_second = auth.rate_limit_burst, auth.rate_limit_per_second
        if shared is None:
            replay, rate = ReplayCache(clock=clock), TokenBuckets(burst=burst, rate=per_second)
        else:
            replay = RedisReplayCache(shared, clock=clock)
            rate = RedisTokenBuckets(shared, burst=burst, rate=per_second)
        dpop = DpopVerifier(
            nonces=nonces,
            max_age=auth.dpop_proof_max_age_seconds,
            skew=10.0,
            clock=clock,
            replay=replay,
        )
        return cls(
            validator,
            dpop=dpop,
            audience_prefix=auth.audience_prefix,
            dpop_required_apis=auth.dpop_required_apis,
            rate=rate,
            max_body_bytes=auth.max_body_bytes,
        )

    def audience(self, api_name: str) -> str:
        """The audience the API named ``api_name`` expects in its tokens."""
        return f"{self.audience_prefix}{api_name}"

    def install(self, app: FastAPI) -> None:
        """Check every request of ``app`` (built by the app factory) before its routes run."""
        if app.middleware_stack is not None:
            raise RuntimeError("the guard must be installed before the app serves")
        meta: ApiMetadata = app.state.api
        # Inside the factory's own middleware (correlation id, metrics, lifecycle, audit of
        # writes), so they see refusals; outside whatever the API added (idempotency), so that
        # a stored answer is never replayed to a caller that was not checked.
        middleware = app.user_middleware
        # The JSON check reads whole bodies: it moves inside, behind the guard's body limit.
        readers = [m for m in middleware if m.cls in _BODY_READERS]
        for reader in readers:
            middleware.remove(reader)
        at = next(
            (i for i, m in enumerate(middleware) if m.cls not in _FACTORY_MIDDLEWARE),
            len(middleware),
        )
        middleware[at:at] = [Middleware(_GuardMiddleware, guard=self, meta=meta), *readers]

    async def authenticate(self, scope: Scope, *, api: str, scopes: tuple[str, ...]) -> AccessToken:
        """The caller's validated token for one request to ``api``; raise AuthError if none."""
        kind, raw, proof = _credentials(scope)
        token = await self.validator.validate(raw, audience=self.audience(api))
        jkt = token.jkt
        if jkt is not None or kind == "dpop" or api in self.dpop_required_apis:
            if kind != "dpop" or jkt is None:
                # RFC 9449 section 7.1: a bound token is never a bearer token, and the other
                # way round; an API that requires DPoP takes bound tokens only.
                raise InvalidToken("this API takes DPoP-bound tokens with the DPoP scheme")
            url = str(HTTPConnection(scope).url)
            self.dpop.verify(proof, method=scope["method"], url=url, access_token=raw, jkt=jkt)
        needed = operation_scopes(scopes, scope["method"])
        if needed and token.scopes.isdisjoint(needed):
            raise InsufficientScope(
                "the token lacks the scope this operation needs", required=needed
            )
        _bind(scope, token)
        return token

    def limit(self, token: AccessToken, *, api: str) -> dict[str, str] | None:
        """The rate-limit headers for a request from outside the house, None for a hop of
        the house; raise :class:`RateLimited` when the caller has no budget left."""
        if token.actors or token.claims.get("client_id") in self.internal_clients:
            return None
        decision = self.rate.take((api, *caller_key(token)))
        headers = self.rate.headers(api, decision)
        if not decision.allowed:
            raise RateLimited(headers | {"Retry-After": str(decision.retry_after)})
        return headers

    def challenge(self, exc: AuthError, *, api: str) -> dict[str, str]:
        """The ``WWW-Authenticate`` (and ``DPoP-Nonce``) headers for a refusal."""
        scheme = "DPoP" if api in self.dpop_required_apis else "Bearer"
        if isinstance(exc, InvalidDpopProof):
            scheme = "DPoP"
        params = [f'realm="{_REALM}"']
        if scheme == "DPoP":
            params.append('algs="ES256 PS256 EdDSA"')
        if not (isinstance(exc, InvalidToken) and exc.message == "no access token was presented"):
            params.append(f'error="{exc.code}"')
            params.append(f'error_description="{exc.message}"')
        if isinstance(exc, InsufficientScope):
            params.append(f'scope="{" ".join(exc.required)}"')
        headers = {"WWW-Authenticate": f"{scheme} {', '.join(params)}"}
        if isinstance(exc, DpopNonceRequired):
            headers[NONCE_HEADER] = exc.nonce
        return headers


class RateLimited(Exception):
    """Strictly private: the caller has spent its request budget; carries the 429 headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("rate limited")
        self.headers = headers


def _bind(scope: Scope, token: AccessToken) -> None:
    """Hold the headers naming a customer or partner to the token's claims (see BOUND_HEADERS)."""
    headers: list[tuple[bytes, bytes]] = list(scope["headers"])
    for header, claim in BOUND_HEADERS.items():
        bound = token.claims.get(claim)
        sent = [value for name, value in headers if name == header]
        if bound is None:
            if sent and claim in _CLAIM_REQUIRED:
                raise NotYours(f"the token binds no {claim}")
            continue
        if any(value.decode("latin-1") != str(bound) for value in sent):
            raise NotYours(f"the token is bound to another {claim}")
        if not sent:
            headers.append((header, str(bound).encode("latin-1")))
    scope["headers"] = headers


class _GuardMiddleware:
    """Strictly private: the ASGI side of :class:`ResourceGuard`."""

    def __init__(self, app: ASGIApp, *, guard: ResourceGuard, meta: ApiMetadata) -> None:
        self.app = app
        self.guard = guard
        self.api = meta.name
        self.scopes = meta.scopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        relative = path[len(root) :] if root and path.startswith(root) else path
        if relative in OPEN_PATHS or relative.startswith("/docs/"):
            await self.app(scope, receive, send)
            return
        limit = self.guard.max_body_bytes
        declared = declared_length(scope)
        if declared is None and scope["method"] not in _SAFE_METHODS:
            buffered = await read_within(receive, limit)
            if buffered is None:
                await too_large(scope, receive, send, limit)
                return
            receive = buffered
        elif declared is not None and declared > limit:
            await too_large(scope, receive, send, limit)
            return
        try:
            token = await self.guard.authenticate(scope, api=self.api, scopes=self.scopes)
            rate_headers = self.guard.limit(token, api=self.api)
        except RateLimited as exc:
            await too_many(scope, receive, send, exc.headers)
            return
        except AuthError as exc:
            await self._refuse(exc, scope, receive, send)
            return
        scope.setdefault("state", {})["access_token"] = token
        reset = current_token_var.set(token)

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start" and rate_headers:
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        *((k.lower().encode(), v.encode()) for k, v in rate_headers.items()),
                    ],
                }
            await send(message)

        started = False

        async def send_once_started(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_limits(message)

        try:
            await self.app(scope, receive, send_once_started)
        except AuthError as exc:
            # A route's own scope check (require_scopes): refused like the guard refuses.
            if started:
                raise
            await self._refuse(exc, scope, receive, send)
        finally:
            current_token_var.reset(reset)

    async def _refuse(self, exc: AuthError, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            exc.status,
            title="Unauthorized" if exc.status == 401 else "Forbidden",
            detail=exc.message,
            kind=exc.code.replace("_", "-"),
            instance=scope["path"],
            headers=self.guard.challenge(exc, api=self.api),
        )
        await response(scope, receive, send)


def caller(request: Request) -> AccessToken | None:
    """The validated token of the request, or None when authentication is off."""
    token = getattr(request.state, "access_token", None)
    return token if isinstance(token, AccessToken) else None


def bound_claim(request: Request, claim: str) -> str | None:
    """What the caller's token binds ``claim`` (``customer_id``, ``partner_id``) to: None with
    authentication off, or for a staff token that binds none. Object-level checks use it."""
    token = caller(request)
    value = token.claims.get(claim) if token is not None else None
    return None if value is None else str(value)


#: The operators' scope (review decisions, dead-letter replay) and the administrators' (discard,
#: ERP cut-over); a route asks for one with :func:`require_scopes`.
OPERATE = "ops:operate"
ADMINISTER = "ops:administer"


class RouteScopes:
    """A route dependency asking for all of ``scopes`` on top of the operation's scope.

    The refusal is the guard's own (403 problem+json, ``insufficient_scope`` challenge naming
    the scopes); with authentication off every request passes, like the rest of the guard.
    ``route_scopes(app)`` lists what an app's routes ask for, for the clients of the house.
    """

    def __init__(self, scopes: tuple[str, ...]) -> None:
        self.scopes = scopes

    async def __call__(self, request: Request) -> AccessToken | None:
        token = caller(request)
        if token is not None and not set(self.scopes) <= token.scopes:
            raise InsufficientScope(
                "the token lacks a scope this route needs", required=self.scopes
            )
        return token


def require_scopes(*needed: str) -> RouteScopes:
    """A route dependency asking for all of ``needed`` beyond the operation's scope::

    @router.post("/reviews/{review_id}/approval",
                 dependencies=[Depends(require_scopes(OPERATE))])
    """
    return RouteScopes(needed)


def route_scopes(app: FastAPI) -> frozenset[str]:
    """Every scope a route of ``app`` asks for with :func:`require_scopes`."""
    found: set[str] = set()
    routes: list[object] = list(app.router.routes)
    while routes:
        route = routes.pop()
        # Included routers keep their routes (FastAPI 0.16x) behind ``original_router``.
        included = getattr(route, "original_router", None)
        if included is not None:
            routes.extend(included.routes)
        elif isinstance(route, APIRoute):
            for dependency in route.dependant.dependencies:
                if isinstance(dependency.call, RouteScopes):
                    found.update(dependency.call.scopes)
    return frozenset(found)
