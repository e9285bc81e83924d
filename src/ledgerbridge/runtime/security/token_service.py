"""The embedded token service: an ASGI app the house mounts at its issuer's path.

Endpoints (relative to the mount):

- ``GET /.well-known/openid-configuration`` (and ``oauth-authorization-server``): discovery.
- ``GET /jwks``: the public signing keys, old ones included until they retire.
- ``POST /token``: ``client_credentials``, ``authorization_code`` (PKCE S256) and RFC 8693
  token exchange, client authentication by argon2-hashed secret or private_key_jwt (or none,
  for a public client's code), DPoP-bound tokens (``cnf.jkt``) on request.
- ``POST /par``, ``GET|POST /authorize``: end-user sign-in, pushed requests only (see
  ``authorize``).

Production may point the resource side at an external identity provider instead.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ledgerbridge.runtime.security._errors import (
    AuthError,
    DpopNonceRequired,
    InvalidDpopProof,
    InvalidGrant,
)
from ledgerbridge.runtime.security.authorize import (
    AuthorizationGrants,
    error_page,
    sign_in_page,
)
from ledgerbridge.runtime.security.clients import ClientRecord, ClientRegistry
from ledgerbridge.runtime.security.dpop import (
    NONCE_HEADER,
    PROOF_ALGORITHMS,
    DpopVerifier,
    NonceSource,
)
from ledgerbridge.runtime.security.exchange import (
    ACCESS_TOKEN_TYPE,
    EXCHANGE_GRANT,
    exchange,
)
from ledgerbridge.runtime.security.issuer import IssuedToken, TokenIssuer
from ledgerbridge.runtime.security.keys import Clock, KeyRing
from ledgerbridge.runtime.security.tokens import TokenValidator, algorithm_allow_list
from ledgerbridge.runtime.security.users import UserRegistry

if TYPE_CHECKING:
    from ledgerbridge.runtime.audit import AuditTrail
    from ledgerbridge.runtime.settings import AuthSettings

#: Called with every token issued (the audit trail listens here).
IssueListener = Callable[[ClientRecord, str, IssuedToken], Awaitable[None]]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FORM_BYTES = 32_768
# The sign-in pages run no script, load nothing and are never framed (clickjacking).
_PAGE_HEADERS = {
    **_NO_STORE,
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
CODE_GRANT = "authorization_code"


@dataclass(frozen=True, slots=True)
class TokenService:
    """What the token endpoint needs: who signs, who may ask, and how proofs are checked."""

    issuer: TokenIssuer
    clients: ClientRegistry
    validator: TokenValidator
    dpop: DpopVerifier
    audience_prefix: str = "urn:ledgerbridge:"
    on_issue: IssueListener | None = None
    # Seconds a signed-in user's token lives (it is the pages' session).
    user_token_seconds: int = 3600
    users: UserRegistry = field(default_factory=UserRegistry)
    grants: AuthorizationGrants = field(default_factory=AuthorizationGrants)

    @classmethod
    def from_settings(
        cls,
        auth: AuthSettings,
        *,
        keys: KeyRing | None = None,
        clients: ClientRegistry | None = None,
        clock: Clock = time.time,
    ) -> TokenService:
        """The service ``auth`` describes; keys and clients come from its files unless given.

        Without a signing-key file the ring holds one fresh key, so tokens do not survive a
        restart: fine for the embedded default and tests, not for production.
        """
        if keys is None:
            keys = (
                KeyRing.from_file(auth.signing_keys_file, clock=clock)
                if auth.signing_keys_file
                else KeyRing(clock=clock)
            )
        if clients is None:
            clients = (
                ClientRegistry.from_file(auth.clients_file, clock=clock)
                if auth.clients_file
                else ClientRegistry(clock=clock)
            )
        users = UserRegistry.from_file(auth.users_file) if auth.users_file else UserRegistry()
        grants = AuthorizationGrants(clock=clock)
        secret = auth.nonce_secret
        nonces = NonceSource(
            bytes.fromhex(secret.get_secret_value()) if secret else None, clock=clock
        )
        return cls(
            issuer=TokenIssuer(auth.issuer, keys, lifetime=auth.access_token_seconds, clock=clock),
            clients=clients,
            validator=TokenValidator(
                auth.issuer,
                keys,
                algorithms=algorithm_allow_list(auth.algorithms, allow_rs256=auth.allow_rs256),
                skew_seconds=auth.clock_skew_seconds,
                clock=clock,
                revoked=grants.is_revoked,
            ),
            dpop=DpopVerifier(nonces=nonces, max_age=auth.dpop_proof_max_age_seconds, clock=clock),
            audience_prefix=auth.audience_prefix,
            user_token_seconds=auth.user_token_seconds,
            users=users,
            grants=grants,
        )

    @property
    def token_endpoint(self) -> str:
        """The token endpoint's URL, as DPoP proofs and client assertions name it."""
        return f"{self.issuer.issuer}/token"

    @property
    def par_endpoint(self) -> str:
        """The pushed authorization request endpoint's URL (RFC 9126)."""
        return f"{self.issuer.issuer}/par"

    @property
    def authorization_endpoint(self) -> str:
        """The authorize endpoint's URL, where browsers sign in."""
        return f"{self.issuer.issuer}/authorize"


def _requested_audiences(form: Mapping[str, str], multi: list[tuple[str, str]]) -> set[str]:
    return {value for name, value in multi if name in {"audience", "resource"} and value}


def _audiences_of(scopes: set[str], prefix: str) -> set[str]:
    return {f"{prefix}{scope.split(':', 1)[0]}" for scope in scopes}


def _error(exc: AuthError) -> JSONResponse:
    headers = dict(_NO_STORE)
    status = exc.status
    if isinstance(exc, InvalidDpopProof):
        # RFC 9449 section 5: the token endpoint answers a bad proof with 400.
        status = 400
    if isinstance(exc, DpopNonceRequired):
        headers[NONCE_HEADER] = exc.nonce
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="ledgerbridge"'
    body = {"error": exc.code, "error_description": exc.message}
    return JSONResponse(body, status_code=status, headers=headers)


async def _form(request: Request) -> list[tuple[str, str]]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise InvalidGrant(
            "the body must be application/x-www-form-urlencoded", code="invalid_request"
        )
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise InvalidGrant("the request is too large", code="invalid_request")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise InvalidGrant("the form cannot be read", code="invalid_request") from None


async def _client_credentials(
    service: TokenService,
    client: ClientRecord,
    form: Mapping[str, str],
    audiences: set[str],
    jkt: str | None,
) -> IssuedToken:
    requested = set(form.get("scope", "").split()) or set(client.scopes)
    if not requested <= client.scopes:
        raise InvalidGrant("the client may not ask for these scopes", code="invalid_scope")
    targets = audiences or _audiences_of(requested, service.audience_prefix)
    if not targets or not targets <= client.audiences:
        raise InvalidGrant("the client may not get tokens for this audience", code="invalid_target")
    return service.issuer.issue(
        subject=client.client_id,
        client_id=client.client_id,
        audience=next(iter(targets)) if len(targets) == 1 else targets,
        scopes=requested,
        jkt=jkt,
        extra=client.claims,
    )


async def _authorization_code(
    service: TokenService, client: ClientRecord, form: Mapping[str, str], jkt: str | None
) -> IssuedToken:
    if not client.audiences:
        raise InvalidGrant("the client may not get tokens for any audience", code="invalid_target")
    redeemed = service.grants.redeem(client, form)
    audiences = sorted(client.audiences)
    minted = service.issuer.issue(
        subject=redeemed.user.username,
        client_id=client.client_id,
        audience=audiences[0] if len(audiences) == 1 else audiences,
        scopes=redeemed.scopes,
        jkt=jkt,
        extra=redeemed.user.claims(),
        lifetime=service.user_token_seconds,
    )
    service.grants.record(redeemed, str(minted.claims["jti"]), float(minted.claims["exp"]))
    return minted


async def _token(request: Request) -> JSONResponse:
    service: TokenService = request.app.state.token_service
    try:
        multi = await _form(request)
        form = dict(multi)
        client = service.clients.authenticate(
            form,
            authorization=request.headers.get("authorization"),
            token_endpoint=service.token_endpoint,
            issuer=service.issuer.issuer,
        )
        jkt = None
        proofs = request.headers.getlist("dpop")
        if len(proofs) > 1:
            raise InvalidDpopProof("exactly one DPoP header is allowed")
        if proofs or client.dpop_bound:
            jkt = service.dpop.verify(
                proofs[0] if proofs else None, method="POST", url=service.token_endpoint
            )
        audiences = _requested_audiences(form, multi)
        grant = form.get("grant_type")
        if client.public and grant != CODE_GRANT:
            raise InvalidGrant(
                "a public client may only redeem authorization codes", code="unauthorized_client"
            )
        if grant == CODE_GRANT:
            minted = await _authorization_code(service, client, form, jkt)
        elif grant == "client_credentials":
            minted = await _client_credentials(service, client, form, audiences, jkt)
        elif grant == EXCHANGE_GRANT:
            minted = await exchange(
                service.issuer,
                service.validator,
                client=client,
                form=form,
                audiences=audiences,
                jkt=jkt,
            )
        else:
            raise InvalidGrant(
                f"grant_type {grant!r} is not supported", code="unsupported_grant_type"
            )
    except AuthError as exc:
        return _error(exc)
    if service.on_issue is not None:
        await service.on_issue(client, str(grant), minted)
    answer: dict[str, Any] = {
        "access_token": minted.token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": minted.expires_in,
        "scope": minted.claims["scope"],
    }
    if grant == EXCHANGE_GRANT:
        answer["issued_token_type"] = ACCESS_TOKEN_TYPE
    headers = dict(_NO_STORE)
    if service.dpop.nonces is not None:
        headers[NONCE_HEADER] = service.dpop.nonces.current()
    return JSONResponse(answer, headers=headers)


async def _jwks(request: Request) -> JSONResponse:
    service: TokenService = request.app.state.token_service
    return JSONResponse(service.issuer.keys.jwks(), headers={"Cache-Control": "max-age=60"})


async def _discovery(request: Request) -> JSONResponse:
    service: TokenService = request.app.state.token_service
    issuer = service.issuer.issuer
    return JSONResponse(
        {
            "issuer": issuer,
            "token_endpoint": service.token_endpoint,
            "jwks_uri": f"{issuer}/jwks",
            "authorization_endpoint": service.authorization_endpoint,
            "pushed_authorization_request_endpoint": service.par_endpoint,
            "require_pushed_authorization_requests": True,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "grant_types_supported": [CODE_GRANT, "client_credentials", EXCHANGE_GRANT],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none",
            ],
            "token_endpoint_auth_signing_alg_values_supported": sorted(service.clients.algorithms),
            "dpop_signing_alg_values_supported": sorted(PROOF_ALGORITHMS),
            "scopes_supported": sorted(
                {s for client in service.clients.all() for s in client.scopes}
            ),
        }
    )


async def _par(request: Request) -> JSONResponse:
    service: TokenService = request.app.state.token_service
    try:
        multi = await _form(request)
        if len({name for name, _ in multi}) != len(multi):
            raise InvalidGrant("a parameter is repeated", code="invalid_request")
        form = dict(multi)
        client = service.clients.authenticate(
            form,
            authorization=request.headers.get("authorization"),
            token_endpoint=service.par_endpoint,
            issuer=service.issuer.issuer,
        )
        if not client.redirect_uris:
            raise InvalidGrant(
                "this client does not sign users in (no redirect_uris)",
                code="unauthorized_client",
            )
        request_uri, expires_in = service.grants.push(client, form)
    except AuthError as exc:
        return _error(exc)
    body = {"request_uri": request_uri, "expires_in": expires_in}
    return JSONResponse(body, status_code=201, headers=_NO_STORE)


async def _authorize(request: Request) -> Response:
    """The sign-in form for a pushed request; on POST, check the password and send the user
    back to the client with a code."""
    service: TokenService = request.app.state.token_service
    posted: dict[str, str] = {}
    try:
        if request.method == "POST":
            posted = dict(await _form(request))
            params: Mapping[str, str] = posted
        else:
            params = request.query_params
        client_id, request_uri = params.get("client_id", ""), params.get("request_uri", "")
        pushed = service.grants.pending(client_id, request_uri)
    except AuthError as exc:
        return HTMLResponse(error_page(exc.message), status_code=400, headers=_PAGE_HEADERS)
    page = {"action": request.url.path, "client_id": client_id, "request_uri": request_uri}
    if request.method != "POST":
        return HTMLResponse(sign_in_page(**page), headers=_PAGE_HEADERS)
    username = posted.get("username", "")[:256]
    user = service.users.authenticate(username, posted.get("password", ""))
    if user is None and service.users.locked(username):
        html = error_page("Too many wrong passwords for this username: try again later.")
        return HTMLResponse(html, status_code=429, headers=_PAGE_HEADERS)
    if user is None:
        if not service.grants.refused(request_uri):
            return HTMLResponse(
                error_page("Too many wrong passwords."), status_code=400, headers=_PAGE_HEADERS
            )
        html = sign_in_page(**page, username=username, error="The username or password is wrong.")
        return HTMLResponse(html, status_code=401, headers=_PAGE_HEADERS)
    try:
        redirect = service.grants.sign_in(request_uri, pushed, user, service.issuer.issuer)
    except AuthError as exc:
        return HTMLResponse(error_page(exc.message), status_code=400, headers=_PAGE_HEADERS)
    return RedirectResponse(redirect, status_code=303, headers=_PAGE_HEADERS)


def audited(trail: AuditTrail) -> IssueListener:
    """An ``on_issue`` listener writing every issued token to the audit trail."""

    async def record(client: ClientRecord, grant: str, minted: IssuedToken) -> None:
        claims = minted.claims
        aud = claims["aud"]
        await trail.record(
            "token.issued",
            actor=client.client_id,
            subject=str(claims["sub"]),
            target=aud if isinstance(aud, str) else " ".join(aud),
            detail={
                "grant_type": grant,
                "scope": claims["scope"],
                "jti": claims["jti"],
                "exp": claims["exp"],
                "act": claims.get("act"),
                "dpop_bound": "cnf" in claims,
            },
        )

    return record


def token_service_of(app: Starlette) -> TokenService | None:
    """The token service mounted in ``app`` (a house), if any: the demo adds its users there."""
    for route in app.router.routes:
        mounted = getattr(route, "app", None)
        service = getattr(getattr(mounted, "state", None), "token_service", None)
        if isinstance(service, TokenService):
            return service
    return None


def token_service_app(service: TokenService) -> Starlette:
    """The ASGI app of ``service``, to be mounted where its issuer URL points.

    Usage::

        house.app.router.routes.append(Mount("/auth", app=token_service_app(service)))
    """
    app = Starlette(
        routes=[
            Route("/token", _token, methods=["POST"]),
            Route("/par", _par, methods=["POST"]),
            Route("/authorize", _authorize, methods=["GET", "POST"]),
            Route("/jwks", _jwks, methods=["GET"]),
            Route("/.well-known/openid-configuration", _discovery, methods=["GET"]),
            Route("/.well-known/oauth-authorization-server", _discovery, methods=["GET"]),
        ]
    )
    app.state.token_service = service
    return app
