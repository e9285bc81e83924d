"""Minting access tokens (RFC 9068 JWTs) with the token service's active key."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ledgerbridge.runtime.security import _jws
from ledgerbridge.runtime.security.keys import Clock, KeyRing, signing_algorithm


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just minted, and what the token endpoint says about it."""

    token: str
    claims: Mapping[str, Any]
    expires_in: int


class TokenIssuer:
    """Sign access tokens for one issuer with the ring's active key.

    Usage::

        issuer = TokenIssuer("http://ledgerbridge.internal/auth", KeyRing(), lifetime=300)
        minted = issuer.issue(subject="partner-7", client_id="partner-7",
                              audience="urn:ledgerbridge:partner", scopes={"partner:orders"})
    """

    def __init__(
        self, issuer: str, keys: KeyRing, *, lifetime: int = 300, clock: Clock = time.time
    ) -> None:
        self.issuer = issuer
        self.keys = keys
        self.lifetime = lifetime
        self.clock = clock

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        audience: str | Collection[str],
        scopes: Collection[str],
        jkt: str | None = None,
        act: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        not_after: int | None = None,
        lifetime: int | None = None,
    ) -> IssuedToken:
        """A signed access token; ``jkt`` binds it to a DPoP key, ``act`` records the actors,
        ``not_after`` caps its expiry (a token never outlives the one it was traded for), and
        ``lifetime`` replaces the issuer's (a signed-in user's session token lives longer)."""
        now = math.floor(self.clock())
        life = self.lifetime if lifetime is None else lifetime
        exp = now + life if not_after is None else min(now + life, not_after)
        claims: dict[str, Any] = {
            **(extra or {}),
            "iss": self.issuer,
            "sub": subject,
            "aud": audience if isinstance(audience, str) else sorted(audience),
            "client_id": client_id,
            "scope": " ".join(sorted(scopes)),
            "iat": now,
            "nbf": now,
            "exp": exp,
            "jti": str(uuid.uuid4()),
        }
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        if act is not None:
            claims["act"] = dict(act)
        key = self.keys.active
        header = {"typ": "at+jwt", "alg": signing_algorithm(key), "kid": key.kid}
        return IssuedToken(_jws.sign(header, claims, key), claims, max(exp - now, 0))
