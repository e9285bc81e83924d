"""RFC 8693 token exchange: a layer trades its caller's token for one to the layer below.

The new token keeps the caller as ``sub``, names exactly the audience asked for, carries only
scopes the exchanging client may have, never outlives the token it replaces, and records the
exchanging client in ``act`` on top of any earlier actors::

    {"sub": "customer-42", "aud": "urn:ledgerbridge:crm-orders",
     "act": {"sub": "order-to-cash", "act": {"sub": "customer-portal"}}}

A caller whose scopes are all ``:read`` gets no ``:write`` scope from an exchange: a read
cannot turn into a write on its way down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ledgerbridge.runtime.security._errors import InvalidGrant, InvalidToken
from ledgerbridge.runtime.security.clients import ClientRecord
from ledgerbridge.runtime.security.issuer import IssuedToken, TokenIssuer
from ledgerbridge.runtime.security.tokens import AccessToken, TokenValidator

EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN
_SUBJECT_TYPES = frozenset({ACCESS_TOKEN_TYPE, "urn:ietf:params:oauth:token-type:jwt"})
#: Deeper chains are loops or abuse: the reference house has three layers.
MAX_ACTORS = 4


def _is_write(scope: str) -> bool:
    return scope.rsplit(":", 1)[-1] == "write"


def _is_read(scope: str) -> bool:
    return scope.rsplit(":", 1)[-1] == "read"


def _act(client: ClientRecord, subject: AccessToken) -> dict[str, Any]:
    act: dict[str, Any] = {"sub": client.client_id}
    earlier = subject.claims.get("act")
    if isinstance(earlier, dict):
        act["act"] = earlier
    return act


async def exchange(
    issuer: TokenIssuer,
    validator: TokenValidator,
    *,
    client: ClientRecord,
    form: Mapping[str, str],
    audiences: set[str],
    jkt: str | None,
) -> IssuedToken:
    """Issue the token ``client`` asks for in exchange of ``form['subject_token']``.

    Raises:
        InvalidGrant: invalid_request, invalid_grant, invalid_target or invalid_scope.
    """
    subject_raw = form.get("subject_token")
    if not subject_raw or form.get("subject_token_type") not in _SUBJECT_TYPES:
        raise InvalidGrant(
            "subject_token and an access-token subject_token_type are required",
            code="invalid_request",
        )
    requested_type = form.get("requested_token_type")
    if requested_type not in (None, ACCESS_TOKEN_TYPE):
        raise InvalidGrant("only access tokens are issued", code="invalid_request")
    if "actor_token" in form:
        # The exchanging client is the actor; a second actor token would need its own trust.
        raise InvalidGrant("actor_token is not supported", code="invalid_request")
    try:
        subject = await validator.validate(subject_raw, audience=None)
    except InvalidToken as exc:
        raise InvalidGrant(f"subject_token: {exc.message}") from exc
    aud = subject.claims.get("aud")
    subject_audiences = (
        {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
    )
    if subject_audiences.isdisjoint(client.acts_for):
        raise InvalidGrant("the subject token was not issued to an API this client runs as")
    may_act = subject.claims.get("may_act")
    if isinstance(may_act, dict) and may_act.get("sub") != client.client_id:
        raise InvalidGrant("the subject token does not allow this client to act for it")
    if len(subject.actors) >= MAX_ACTORS:
        raise InvalidGrant("the actor chain is too long")
    if len(audiences) != 1:
        raise InvalidGrant("name exactly one audience or resource", code="invalid_target")
    target = next(iter(audiences))
    if target not in client.audiences:
        raise InvalidGrant("the client may not get tokens for this audience", code="invalid_target")
    requested = set(form.get("scope", "").split())
    if not requested:
        raise InvalidGrant("name the scopes wanted for the audience", code="invalid_scope")
    if not requested <= client.scopes:
        raise InvalidGrant("the client may not ask for these scopes", code="invalid_scope")
    if any(map(_is_write, requested)) and all(map(_is_read, subject.scopes)):
        raise InvalidGrant("a read-only caller cannot be given write scopes", code="invalid_scope")
    carried = ("customer_id", "partner_id")
    return issuer.issue(
        subject=subject.subject,
        client_id=client.client_id,
        audience=target,
        scopes=requested,
        jkt=jkt,
        act=_act(client, subject),
        # Claims that bind the caller to its data travel down with it.
        extra={name: subject.claims[name] for name in carried if name in subject.claims},
        not_after=math.floor(float(subject.claims["exp"])),
    )
