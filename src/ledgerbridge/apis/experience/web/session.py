"""The pages' session: the signed-in user's access token, in a cookie.

The token service signed the token (the sign-in's code brought it), so the cookie needs no
signature of ours; :class:`SessionMiddleware` checks it on every request (signature, audience,
expiry, and revocation when its code was replayed) and, for the calls the page makes below,
makes it the caller's token, so a layer exchanges it and sees the user.

Over https the cookie is ``__Host-lb_session``: Secure, HttpOnly, SameSite=Lax, Path=/, no
Domain. Over plain http (localhost, tests) it is ``lb_session``, without Secure and without
the prefix, which browsers refuse on http. While a sign-in is under way, ``lb_signin`` (same
rules, five minutes) keeps its state, PKCE verifier, callback and the page to return to,
signed with the pages' session key so that nobody can hand the browser another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ledgerbridge.runtime.security import PageSignIn, SignedIn, current_token_var

SESSION = "lb_session"
PENDING = "lb_signin"
PENDING_SECONDS = 300
_SECURE_PREFIX = "__Host-"


def is_secure(connection: HTTPConnection) -> bool:
    """Whether the page is served over https (then cookies are Secure and ``__Host-``)."""
    return connection.url.scheme == "https"


def cookie_name(name: str, *, secure: bool) -> str:
    """The cookie's name: ``__Host-`` prefixed when it is Secure."""
    return f"{_SECURE_PREFIX}{name}" if secure else name


def read_cookie(connection: HTTPConnection, name: str) -> str | None:
    """The value of one of the pages' cookies, under the name the scheme gives it."""
    return connection.cookies.get(cookie_name(name, secure=is_secure(connection)))


def set_cookie(response: Response, name: str, value: str, *, secure: bool, max_age: int) -> None:
    """Set one of the pages' cookies: HttpOnly, SameSite=Lax, Path=/, Secure over https."""
    response.set_cookie(
        cookie_name(name, secure=secure),
        value,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    """Make the browser forget one of the pages' cookies."""
    response.delete_cookie(
        cookie_name(name, secure=secure), path="/", secure=secure, httponly=True, samesite="lax"
    )


def _mac(key: bytes, data: str) -> str:
    digest = hmac.new(key, f"{PENDING}.{data}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def seal(key: bytes, payload: dict[str, Any]) -> str:
    """The pending sign-in's cookie value: its JSON, base64url, and an HMAC-SHA256 of it.

    It expires ``PENDING_SECONDS`` from now, whatever the browser does with the cookie.
    """
    body = {**payload, "exp": int(time.time()) + PENDING_SECONDS}
    data = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    return f"{data}.{_mac(key, data)}"


def unseal(key: bytes, value: str | None) -> dict[str, Any] | None:
    """What a pending sign-in's cookie holds, or None if it is missing, forged or expired."""
    if not value or "." not in value:
        return None
    data, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(_mac(key, data), mac):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(body, dict) or float(body.get("exp", 0)) <= time.time():
        return None
    return body


class SessionMiddleware:
    """Put the signed-in user (or None) in ``request.state.user``, and its token in
    ``current_token_var`` while the page is served."""

    def __init__(self, app: ASGIApp, *, sign_in: PageSignIn | None) -> None:
        self.app = app
        self.sign_in = sign_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        user: SignedIn | None = None
        if self.sign_in is not None:
            user = await self.sign_in.check(read_cookie(HTTPConnection(scope), SESSION))
        scope.setdefault("state", {})["user"] = user
        if user is None:
            await self.app(scope, receive, send)
            return
        reset = current_token_var.set(user.token)
        try:
            await self.app(scope, receive, send)
        finally:
            current_token_var.reset(reset)
