"""Security between layers: each hop trades the caller's token for one to the API below.

:class:`EmbeddedSecurity` is what a composition root needs to switch authentication on for a
house: the token service mounted at its issuer path, a client per API (derived from the API's
metadata: it may call what ``calls`` names, and acts for its own audience), the guard on
every API, and :class:`LayerTokens`, the ``httpx.Auth`` of the clients between layers::

    security = EmbeddedSecurity.from_settings(settings.auth)
    security.secure(house)                      # after the APIs are mounted
    process_client.auth = security.layer_tokens(token_http)
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import httpx
import redis
import structlog
from fastapi import FastAPI
from redis.backoff import NoBackoff
from redis.retry import Retry
from starlette.routing import Mount

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer
from ledgerbridge.runtime.house import House
from ledgerbridge.runtime.observability import current_api_var
from ledgerbridge.runtime.security.clients import ClientRecord, hash_secret
from ledgerbridge.runtime.security.exchange import ACCESS_TOKEN_TYPE, EXCHANGE_GRANT
from ledgerbridge.runtime.security.guard import ResourceGuard, operation_scopes, route_scopes
from ledgerbridge.runtime.security.keys import Clock
from ledgerbridge.runtime.security.signin import PageSignIn
from ledgerbridge.runtime.security.token_service import (
    IssueListener,
    TokenService,
    token_service_app,
)
from ledgerbridge.runtime.security.tokens import current_token_var
from ledgerbridge.runtime.settings import AuthSettings

log = structlog.get_logger("ledgerbridge.security")
_LAYERS = frozenset(layer.value for layer in Layer)
# A cached token is dropped this many seconds before it expires.
_EARLY = 10.0
#: An app whose state has this set signs its users in with session cookies: no access token
#: is asked of its requests (its pages gate by role themselves).
SESSION_PAGES = "session_pages"


def called_api(path: str) -> str | None:
    """The API a layer path addresses: ``/system/crm-orders/v1/...`` -> ``crm-orders``."""
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] in _LAYERS else None


def _challenged_scopes(response: httpx.Response) -> frozenset[str]:
    """The scopes a 403 ``insufficient_scope`` challenge names; none for any other answer."""
    challenge = response.headers.get("WWW-Authenticate", "")
    if response.status_code != 403 or 'error="insufficient_scope"' not in challenge:
        return frozenset()
    found = re.search(r'scope="([^"]*)"', challenge)
    return frozenset(found.group(1).split()) if found else frozenset()


def shared_redis(url: str) -> redis.Redis:
    """The Redis client the guard keeps its shared state in. It is called on the request
    path, so its timeouts are short and it tries again once at once: redis-py's default
    retries back off for seconds before an unreachable Redis is reported (and the guard
    falls back), and every request would wait that long."""
    return redis.Redis.from_url(
        url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 1)
    )


@dataclass
class _Cached:
    token: str
    expires_at: float


class LayerTokens(httpx.Auth):
    """Authenticate calls to the layer below with a token meant for the API called.

    With a caller (a request being served) the caller's token is exchanged (RFC 8693), so the
    API below sees the end user as ``sub`` and the chain of layers in ``act``. Without one (a
    background worker) the calling API asks for a token of its own (client credentials).
    """

    def __init__(
        self,
        token_http: httpx.AsyncClient,
        *,
        token_endpoint: str,
        secrets_by_api: dict[str, str],
        scopes_by_api: dict[str, tuple[str, ...]],
        audience_prefix: str,
        clock: Clock = time.time,
    ) -> None:
        self._http = token_http
        self._endpoint = token_endpoint
        self._secrets = secrets_by_api
        self._scopes = scopes_by_api
        self._prefix = audience_prefix
        self._clock = clock
        self._cache: dict[tuple[str, str, str, str | None], _Cached] = {}

    # A refused route scope is asked for once more, so the body must be replayable.
    requires_request_body = True

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Add the Authorization header for the API ``request`` addresses.

        A route below that asks for more than the operation's scope (``require_scopes``:
        an operator's action, say) answers 403 naming the scopes; when the end user's token
        holds them, the request goes once more with a token carrying them too.
        """
        target = called_api(request.url.path)
        caller = current_api_var.get()
        if target is None or caller is None or target not in self._scopes:
            yield request
            return
        needed = operation_scopes(self._scopes[target], request.method)
        token = await self._token(caller, target, " ".join(needed))
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        # Refused a token, the request goes without one: the API below answers the 401 and
        # the caller sees the refusal as an ordinary problem+json from the layer below.
        response = yield request
        extra = _challenged_scopes(response)
        subject = current_token_var.get()
        if token is None or not extra or subject is None or not extra <= subject.scopes:
            return
        stepped = await self._token(caller, target, " ".join(sorted({*needed, *extra})))
        if stepped is not None:
            request.headers["Authorization"] = f"Bearer {stepped}"
            yield request

    async def _token(self, caller: str, target: str, scope: str) -> str | None:
        subject = current_token_var.get()
        key = (caller, target, scope, subject.raw if subject else None)
        cached = self._cache.get(key)
        now = self._clock()
        if cached is not None and cached.expires_at - _EARLY > now:
            return cached.token
        form = {
            "client_id": caller,
            "client_secret": self._secrets.get(caller, ""),
            "audience": f"{self._prefix}{target}",
            "scope": scope,
        }
        if subject is not None:
            form |= {
                "grant_type": EXCHANGE_GRANT,
                "subject_token": subject.raw,
                "subject_token_type": ACCESS_TOKEN_TYPE,
            }
        else:
            form["grant_type"] = "client_credentials"
        answer = await self._http.post(self._endpoint, data=form)
        body = answer.json()
        if answer.status_code != 200:
            log.warning(
                "token refused",
                caller=caller,
                target=target,
                scope=scope,
                error=body.get("error"),
                reason=body.get("error_description"),
            )
            return None
        self._cache[key] = _Cached(body["access_token"], now + float(body["expires_in"]))
        return str(body["access_token"])


@dataclass
class EmbeddedSecurity:
    """The token service, the guard and the layer clients' credentials of one house."""

    auth: AuthSettings
    service: TokenService
    guard: ResourceGuard
    secrets_by_api: dict[str, str] = field(default_factory=dict)
    scopes_by_api: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Scopes routes ask for on top of the operation's (require_scopes), per API of the house.
    route_scopes_by_api: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        auth: AuthSettings,
        *,
        on_issue: IssueListener | None = None,
        clock: Clock = time.time,
        redis_url: str | None = None,
    ) -> EmbeddedSecurity:
        """Token service and guard from ``auth``; the guard reads the ring in-process.

        Args:
            auth: The auth settings.
            on_issue: Told of every token issued (``audited(trail)`` writes the audit trail).
            clock: Seconds since the epoch; tests pass a fixed one.
            redis_url: Where the guard keeps DPoP proofs seen and request budgets for every
                replica; None keeps them in this process.
        """
        service = replace(TokenService.from_settings(auth, clock=clock), on_issue=on_issue)
        shared = None
        if redis_url is not None:
            shared = shared_redis(redis_url)
        guard = ResourceGuard.from_settings(
            auth, keys=service.issuer.keys, clock=clock, shared=shared
        )
        # The tokens of a replayed authorization code are refused by the APIs too.
        guard.validator.revoked = service.grants.is_revoked
        return cls(auth, service, guard)

    def register(self, apis: Iterable[ApiMetadata], *, catalog: Iterable[ApiMetadata] = ()) -> None:
        """A client per API: it acts for its own audience and may call what it ``calls``.

        ``catalog`` names the scopes of APIs served elsewhere (a house of one layer calls
        the layer below over HTTP), so that calls to them get tokens too.
        """
        apis = list(apis)
        for meta in [*catalog, *apis]:
            self.scopes_by_api[meta.name] = tuple(
                sorted({*self.scopes_by_api.get(meta.name, ()), *meta.scopes})
            )
        self.guard.internal_clients.update(meta.name for meta in apis)
        for meta in apis:
            secret = self.secrets_by_api.setdefault(meta.name, secrets.token_urlsafe(32))
            callees = set(meta.calls)
            self.service.clients.register(
                ClientRecord(
                    client_id=meta.name,
                    secret_hash=hash_secret(secret),
                    scopes=frozenset(
                        s
                        for c in callees
                        for s in (
                            *self.scopes_by_api.get(c, ()),
                            *self.route_scopes_by_api.get(c, ()),
                        )
                    ),
                    audiences=frozenset(f"{self.auth.audience_prefix}{c}" for c in callees),
                    acts_for=frozenset({f"{self.auth.audience_prefix}{meta.name}"}),
                )
            )

    def secure(self, house: House, *, catalog: Iterable[ApiMetadata] = ()) -> None:
        """Guard every API of ``house``, register their clients, mount the token service.

        Call it after the APIs are mounted and before the house serves. ``catalog`` is every
        API of the deployment, for the scopes of those served by other houses.
        """
        for route in house.app.router.routes:
            if isinstance(route, Mount) and isinstance(route.app, FastAPI):
                if getattr(route.app.state, SESSION_PAGES, False):
                    continue
                self.guard.install(route.app)
                meta = route.app.state.api
                self.route_scopes_by_api[meta.name] = route_scopes(route.app)
        self.register(house.apis, catalog=catalog)
        self.mount(house)

    def mount(self, house: House) -> None:
        """Mount the token service at its issuer's path; alone (authentication off), the APIs
        stay open and the pages still sign their users in."""
        path = urlsplit(self.auth.issuer).path.rstrip("/") or "/auth"
        house.app.router.routes.append(Mount(path, app=token_service_app(self.service)))

    def page_sign_in(self, token_http: httpx.AsyncClient, *, api: str) -> PageSignIn:
        """Register a client for the pages API ``api`` and return its side of sign-in.

        Its users' tokens are for the audience of ``api`` (so that its layer client may
        exchange them); it may send users back to the settings' ``page_redirect_uris``.
        ``token_http`` reaches the issuer.
        """
        client_id = f"{api}-signin"
        secret = secrets.token_urlsafe(32)
        audience = f"{self.auth.audience_prefix}{api}"
        self.service.clients.register(
            ClientRecord(
                client_id=client_id,
                secret_hash=hash_secret(secret),
                scopes=frozenset(),
                audiences=frozenset({audience}),
                redirect_uris=frozenset(self.auth.page_redirect_uris),
            )
        )
        return PageSignIn(
            token_http,
            issuer=self.service.issuer.issuer,
            client_id=client_id,
            client_secret=secret,
            redirect_uris=self.auth.page_redirect_uris,
            audience=audience,
            validator=self.service.validator,
        )

    def layer_tokens(self, token_http: httpx.AsyncClient) -> LayerTokens:
        """The ``httpx.Auth`` for a client between layers; ``token_http`` reaches the issuer."""
        return LayerTokens(
            token_http,
            token_endpoint=self.service.token_endpoint,
            secrets_by_api=self.secrets_by_api,
            scopes_by_api=self.scopes_by_api,
            audience_prefix=self.auth.audience_prefix,
        )
