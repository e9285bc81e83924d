"""The pages' side of end-user sign-in: an OAuth client of the token service.

:meth:`PageSignIn.start` pushes an authorization request (RFC 9126) with a fresh PKCE S256
verifier and state, and names where to send the browser; :meth:`PageSignIn.finish` checks
what the browser brings back (state, and ``iss`` against mix-up, RFC 9207), redeems the code
server to server, and validates the token it gets::

    started = await sign_in.start(sign_in.redirect_uri("http://127.0.0.1:8000"))
    # keep started.state and started.verifier for the callback, send the browser on
    user = await sign_in.finish(started, code=code, state=state, iss=iss)
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx

from ledgerbridge.runtime.security._errors import InvalidGrant, InvalidToken
from ledgerbridge.runtime.security.authorize import s256
from ledgerbridge.runtime.security.tokens import AccessToken, TokenValidator
from ledgerbridge.runtime.security.users import CUSTOMER_CLAIM


@dataclass(frozen=True, slots=True)
class Started:
    """A sign-in under way: what the callback needs back, and where the browser goes now."""

    authorize_url: str
    state: str
    verifier: str
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who signed in: the token's subject, roles and customer binding."""

    subject: str
    roles: frozenset[str]
    customer_id: str | None
    token: AccessToken


class PageSignIn:
    """Sign users in for server-rendered pages, as a confidential client of the token service.

    Args:
        http: Reaches the token service (in-process or over the network), server to server.
        issuer: The token service's issuer identifier.
        client_id: The pages' client.
        client_secret: Its secret (client_secret_basic).
        redirect_uris: The callbacks registered for the client.
        audience: The audience of the tokens the pages get.
        validator: Validates those tokens (the token service's own keys).
        authorize_url: Where browsers reach the authorize endpoint; by default the issuer's
            path on the pages' own host (the embedded house mounts the service there).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uris: tuple[str, ...],
        audience: str,
        validator: TokenValidator,
        authorize_url: str | None = None,
    ) -> None:
        self._http = http
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.redirect_uris = redirect_uris
        self.audience = audience
        self._validator = validator
        self.authorize_url = authorize_url or f"{urlsplit(self.issuer).path}/authorize"

    def redirect_uri(self, origin: str) -> str:
        """The registered callback on ``origin`` (scheme://host:port), else the first one."""
        for uri in self.redirect_uris:
            parts = urlsplit(uri)
            if f"{parts.scheme}://{parts.netloc}" == origin.rstrip("/"):
                return uri
        return self.redirect_uris[0]

    async def start(self, redirect_uri: str) -> Started:
        """Push an authorization request; raise InvalidGrant if the token service refuses."""
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(24)
        form = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
        answer = await self._http.post(
            f"{self.issuer}/par", data=form, auth=(self.client_id, self._secret)
        )
        if answer.status_code != 201:
            raise InvalidGrant(f"the token service refused to start a sign-in: {answer.text}")
        query = urlencode(
            {"client_id": self.client_id, "request_uri": answer.json()["request_uri"]}
        )
        return Started(f"{self.authorize_url}?{query}", state, verifier, redirect_uri)

    async def finish(
        self, started: Started, *, code: str | None, state: str | None, iss: str | None
    ) -> SignedIn:
        """The user the browser's callback names; raise InvalidGrant for anything amiss."""
        if not state or not hmac.compare_digest(state, started.state):
            raise InvalidGrant("the sign-in's state does not match")
        if iss != self.issuer:
            raise InvalidGrant("the answer comes from another issuer (iss)")
        if not code:
            raise InvalidGrant("the sign-in brought back no code")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": started.redirect_uri,
            "code_verifier": started.verifier,
        }
        answer = await self._http.post(
            f"{self.issuer}/token", data=form, auth=(self.client_id, self._secret)
        )
        if answer.status_code != 200:
            raise InvalidGrant(f"the code was refused: {answer.json().get('error_description')}")
        user = await self.check(answer.json()["access_token"])
        if user is None:
            raise InvalidGrant("the token the code brought does not validate")
        return user

    async def check(self, raw: str | None) -> SignedIn | None:
        """The user a session's token names, or None when it is missing, expired, revoked or
        not the pages' (the token is the session: it is checked on every request)."""
        if not raw:
            return None
        try:
            token = await self._validator.validate(raw, audience=self.audience)
        except InvalidToken:
            return None
        roles = token.claims.get("roles")
        customer = token.claims.get(CUSTOMER_CLAIM)
        return SignedIn(
            subject=token.subject,
            roles=frozenset(roles) if isinstance(roles, list) else frozenset(),
            customer_id=None if customer is None else str(customer),
            token=token,
        )
