"""The authorization code grant for end users: pushed requests, the sign-in form, codes.

The flow (RFC 6749 section 4.1 with RFC 9126, RFC 7636 and RFC 9207)::

    client  POST /par  (client auth, response_type=code, redirect_uri, state,
                        code_challenge, code_challenge_method=S256)  -> request_uri (90 s)
    browser GET  /authorize?client_id=..&request_uri=..   -> the sign-in form
    browser POST /authorize (username, password)          -> 303 redirect_uri?code&state&iss
    client  POST /token (grant_type=authorization_code, code, redirect_uri, code_verifier)

Pushed requests are required: the authorize endpoint takes nothing but a request_uri, and
each one signs in one user. PKCE is S256 only. A code is good for 60 seconds and once; a
second use revokes the tokens issued for it (RFC 6749 section 10.5). Everything lives in
this process's memory, like the replay cache: one token-service replica (see docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from ledgerbridge.runtime.security._errors import InvalidGrant
from ledgerbridge.runtime.security.clients import ClientRecord
from ledgerbridge.runtime.security.keys import Clock
from ledgerbridge.runtime.security.users import UserRecord, role_scopes

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
REQUEST_URI_SECONDS = 90
CODE_SECONDS = 60
#: Wrong passwords one pushed request takes before it is spent (the client starts over).
MAX_WRONG_PASSWORDS = 5
_VERIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_CHALLENGE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_MAX_STATE = 512
_GONE = "request_uri is unknown, used or expired"


def s256(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True, slots=True)
class PushedRequest:
    """An authorization request a client pushed, waiting for its user to sign in."""

    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str
    expires_at: float


@dataclass(slots=True)
class _Code:
    request: PushedRequest
    user: UserRecord
    expires_at: float
    redeemed: bool = False
    # The jti and expiry of each token issued for this code, revoked if it is replayed.
    issued: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Redeemed:
    """What a redeemed code grants: the user, and the handle to record tokens issued."""

    user: UserRecord
    scopes: frozenset[str]
    code: str


class AuthorizationGrants:
    """Pushed requests, codes and revocations of the authorization code grant (in memory).

    Usage::

        grants = AuthorizationGrants()
        request_uri = grants.push(client, form)
        code, redirect = grants.sign_in(grants.pending(client_id, request_uri), user, issuer)
        redeemed = grants.redeem(client, {"code": code, "redirect_uri": ..., ...})
    """

    def __init__(self, *, clock: Clock = time.time, max_pending: int = 100_000) -> None:
        self.clock = clock
        self._max = max_pending
        self._pushed: dict[str, PushedRequest] = {}
        self._codes: dict[str, _Code] = {}
        self._revoked: dict[str, float] = {}
        self._failures: dict[str, int] = {}

    def _forget_expired(self) -> None:
        now = self.clock()
        for uri in [u for u, p in self._pushed.items() if p.expires_at <= now]:
            del self._pushed[uri]
            self._failures.pop(uri, None)
        # A redeemed code is kept past its expiry while its tokens live, to catch a replay.
        for code in [
            c
            for c, g in self._codes.items()
            if max(g.expires_at, *(exp for _, exp in g.issued), 0.0) <= now
        ]:
            del self._codes[code]
        for jti in [j for j, exp in self._revoked.items() if exp <= now]:
            del self._revoked[jti]

    def push(self, client: ClientRecord, form: Mapping[str, str]) -> tuple[str, int]:
        """Store a pushed authorization request; its request_uri and lifetime in seconds.

        Raises:
            InvalidGrant: invalid_request (the request is malformed or asks for plain PKCE).
        """
        if "request_uri" in form:
            raise InvalidGrant("request_uri may not be pushed", code="invalid_request")
        if form.get("response_type") != "code":
            raise InvalidGrant("response_type must be code", code="unsupported_response_type")
        redirect_uri = form.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise InvalidGrant(
                "redirect_uri is not one the client registered", code="invalid_request"
            )
        if form.get("code_challenge_method") != "S256":
            raise InvalidGrant("code_challenge_method must be S256", code="invalid_request")
        challenge = form.get("code_challenge", "")
        if len(challenge) != 43 or not set(challenge) <= _CHALLENGE_CHARS:
            raise InvalidGrant("code_challenge is not an S256 challenge", code="invalid_request")
        state = form.get("state")
        if state is not None and len(state) > _MAX_STATE:
            raise InvalidGrant("state is too long", code="invalid_request")
        self._forget_expired()
        if len(self._pushed) >= self._max:
            raise InvalidGrant("too many pending sign-ins", code="temporarily_unavailable")
        request_uri = f"{REQUEST_URI_PREFIX}{secrets.token_urlsafe(32)}"
        self._pushed[request_uri] = PushedRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=challenge,
            expires_at=self.clock() + REQUEST_URI_SECONDS,
        )
        return request_uri, REQUEST_URI_SECONDS

    def pending(self, client_id: str | None, request_uri: str | None) -> PushedRequest:
        """The pushed request a browser brings to the authorize endpoint.

        Raises:
            InvalidGrant: invalid_request_uri (unknown, used, expired or another client's).
        """
        if not request_uri:
            raise InvalidGrant(
                "this server takes pushed authorization requests only (request_uri)",
                code="invalid_request",
            )
        pushed = self._pushed.get(request_uri)
        if pushed is None or pushed.expires_at <= self.clock():
            raise InvalidGrant(_GONE, code="invalid_request_uri")
        if pushed.client_id != client_id:
            raise InvalidGrant("request_uri belongs to another client", code="invalid_request_uri")
        return pushed

    def refused(self, request_uri: str) -> bool:
        """Count a wrong password against a pushed request; False once it is spent by them."""
        failures = self._failures.get(request_uri, 0) + 1
        if failures >= MAX_WRONG_PASSWORDS:
            self._pushed.pop(request_uri, None)
            self._failures.pop(request_uri, None)
            return False
        self._failures[request_uri] = failures
        return True

    def sign_in(
        self, request_uri: str, pushed: PushedRequest, user: UserRecord, issuer: str
    ) -> str:
        """Spend the request_uri on ``user``: the redirect carrying a fresh code (RFC 9207)."""
        self._failures.pop(request_uri, None)
        if self._pushed.pop(request_uri, None) is None:
            raise InvalidGrant(_GONE, code="invalid_request_uri")
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(pushed, user, self.clock() + CODE_SECONDS)
        answer = {"code": code, "iss": issuer}
        if pushed.state is not None:
            answer["state"] = pushed.state
        return f"{pushed.redirect_uri}?{urlencode(answer)}"

    def redeem(self, client: ClientRecord, form: Mapping[str, str]) -> Redeemed:
        """The grant of the code in a token request, spent; its replay revokes what it issued.

        Raises:
            InvalidGrant: invalid_grant (unknown, used, expired, another client's, another
                redirect_uri, or the code_verifier does not match) or invalid_request.
        """
        code = form.get("code", "")
        verifier = form.get("code_verifier", "")
        if not code or not verifier:
            raise InvalidGrant("code and code_verifier are required", code="invalid_request")
        if not 43 <= len(verifier) <= 128 or not set(verifier) <= _VERIFIER_CHARS:
            raise InvalidGrant("code_verifier is malformed", code="invalid_request")
        self._forget_expired()
        grant = self._codes.get(code)
        if grant is None:
            raise InvalidGrant("the code is unknown or expired")
        if grant.redeemed:
            for jti, exp in grant.issued:
                self._revoked[jti] = exp
            raise InvalidGrant("the code was used before; its tokens are revoked")
        if grant.expires_at <= self.clock():
            raise InvalidGrant("the code is unknown or expired")
        if grant.request.client_id != client.client_id:
            raise InvalidGrant("the code was issued to another client")
        if form.get("redirect_uri") != grant.request.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the authorization request's")
        if not hmac.compare_digest(s256(verifier), grant.request.code_challenge):
            raise InvalidGrant("code_verifier does not match the code_challenge")
        grant.redeemed = True
        return Redeemed(grant.user, role_scopes(grant.user.roles), code)

    def record(self, redeemed: Redeemed, jti: str, expires_at: float) -> None:
        """Remember a token issued for a redeemed code, to revoke it if the code comes back."""
        grant = self._codes.get(redeemed.code)
        if grant is not None:
            grant.issued.append((jti, expires_at))

    def is_revoked(self, jti: str) -> bool:
        """Whether the token with ``jti`` was revoked (its code was replayed)."""
        exp = self._revoked.get(jti)
        return exp is not None and exp > self.clock()


def sign_in_page(
    *, action: str, client_id: str, request_uri: str, username: str = "", error: str | None = None
) -> str:
    """The sign-in form of the authorize endpoint (no script, no external resources)."""
    esc = html.escape
    alert = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · ledgerbridge</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Sign in</h1>{alert}
<form method="post" action="{esc(action)}">
<input type="hidden" name="client_id" value="{esc(client_id)}">
<input type="hidden" name="request_uri" value="{esc(request_uri)}">
<p><label>Username <input name="username" value="{esc(username)}" required
 autocomplete="username" autofocus></label></p>
<p><label>Password <input name="password" type="password" required
 autocomplete="current-password"></label></p>
<p><button type="submit">Sign in</button></p>
</form></main></body></html>"""


def error_page(message: str) -> str:
    """What the authorize endpoint shows when it cannot send the user back to the client."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Sign-in failed · ledgerbridge</title></head><body><main>"
        f'<h1>Sign-in failed</h1><p role="alert">{html.escape(message)}</p>'
        "<p>Go back to the site you came from and sign in again.</p></main></body></html>"
    )
