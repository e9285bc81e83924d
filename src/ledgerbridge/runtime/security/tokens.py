"""Access tokens as the resource side sees them: validated JWTs and the caller they name."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from joserfc.jwk import Key

from ledgerbridge.runtime.security import _jws
from ledgerbridge.runtime.security._errors import InvalidToken
from ledgerbridge.runtime.security.keys import Clock, KeySource

#: RFC 9068 names access tokens "at+jwt"; plain "JWT" is what many issuers still send. A
#: DPoP proof ("dpop+jwt") or an ID token presented as an access token is refused.
_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "JWT", "jwt"})
# Tokens whose signature was verified, oldest dropped first; a few MB at most.
_VERIFIED_CACHE = 10_000


def algorithm_allow_list(algorithms: Collection[str], *, allow_rs256: bool) -> frozenset[str]:
    """The algorithms a validator accepts: the configured strong ones, RS256 only if allowed.

    Anything else configured (HS256, "none") is dropped rather than trusted.
    """
    chosen = {alg for alg in algorithms if alg in _jws.STRONG_ALGORITHMS}
    if "EdDSA" in chosen:
        chosen.add("Ed25519")
    if allow_rs256:
        chosen.add("RS256")
    return frozenset(chosen)


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A validated access token: who calls, for which client, with which scopes."""

    raw: str
    claims: Mapping[str, Any]
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def subject(self) -> str:
        """The ``sub`` claim: the end user or, for client credentials, the client."""
        return str(self.claims["sub"])

    @property
    def client_id(self) -> str | None:
        """The client the token was issued to (RFC 9068 ``client_id``)."""
        value = self.claims.get("client_id")
        return str(value) if value is not None else None

    @property
    def jkt(self) -> str | None:
        """The thumbprint of the DPoP key the token is bound to, if it is bound."""
        cnf = self.claims.get("cnf")
        return str(cnf["jkt"]) if isinstance(cnf, dict) and "jkt" in cnf else None

    @property
    def actors(self) -> list[str]:
        """The ``act`` chain, most recent actor first (RFC 8693 section 4.1)."""
        chain: list[str] = []
        act = self.claims.get("act")
        while isinstance(act, dict):
            chain.append(str(act.get("sub")))
            act = act.get("act")
        return chain


#: The token of the request being served, for the calls it makes to the layer below.
current_token_var: ContextVar[AccessToken | None] = ContextVar("current_token", default=None)


def _numeric(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidToken(f"the token has no {name} claim")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"the token's {name} claim is not a number")
    return float(value)


def check_time_claims(claims: Mapping[str, Any], *, now: float, skew: float) -> None:
    """exp, nbf and iat, each allowed ``skew`` seconds of disagreement between clocks."""
    exp = _numeric(claims, "exp", required=True)
    assert exp is not None
    if exp <= now - skew:
        raise InvalidToken("the token has expired")
    nbf = _numeric(claims, "nbf", required=False)
    if nbf is not None and nbf > now + skew:
        raise InvalidToken("the token is not valid yet")
    iat = _numeric(claims, "iat", required=True)
    assert iat is not None
    if iat > now + skew:
        raise InvalidToken("the token was issued in the future")


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The scopes of a token: RFC 9068's space-separated ``scope``, or an ``scp`` list."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(str(s) for s in scp)
    return frozenset()


@dataclass(frozen=True, slots=True)
class _Verified:
    kid: str | None
    key: Key
    claims: dict[str, Any]


class TokenValidator:
    """Validate bearer JWTs from one issuer: algorithm, key, signature, then the claims.

    Usage::

        validator = TokenValidator(issuer, JwksCache(issuer, http), algorithms={"ES256"})
        token = await validator.validate(raw, audience="urn:ledgerbridge:crm-accounts")
    """

    def __init__(
        self,
        issuer: str,
        keys: KeySource,
        *,
        algorithms: Collection[str],
        skew_seconds: float = 60.0,
        clock: Clock = time.time,
        revoked: Callable[[str], bool] | None = None,
    ) -> None:
        self.issuer = issuer
        # Told a jti, says whether the issuer revoked that token (a replayed code's tokens).
        self.revoked = revoked
        self.keys = keys
        self.algorithms = frozenset(algorithms)
        self.skew = skew_seconds
        self.clock = clock
        self._verified: dict[str, _Verified] = {}

    async def validate(self, raw: str, *, audience: str | None) -> AccessToken:
        """The validated token; raise InvalidToken naming the first check that failed.

        Args:
            raw: The compact JWT.
            audience: The audience this resource answers to; None skips the check (the token
                service, reading a token it issued for any audience).
        """
        claims = await self._verified_claims(raw)
        if claims.get("iss") != self.issuer:
            raise InvalidToken("the token is from another issuer")
        if audience is not None:
            aud = claims.get("aud")
            audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
            if audience not in audiences:
                raise InvalidToken("the token is not meant for this API (audience)")
        check_time_claims(claims, now=self.clock(), skew=self.skew)
        if not isinstance(claims.get("sub"), str):
            raise InvalidToken("the token has no subject")
        if self.revoked is not None and self.revoked(str(claims.get("jti"))):
            raise InvalidToken("the token was revoked")
        return AccessToken(raw=raw, claims=claims, scopes=scopes_of(claims))

    async def _verified_claims(self, raw: str) -> dict[str, Any]:
        cached = self._verified.get(raw)
        # A signature checked before is not checked again while the issuer still publishes
        # the same key; the claims (issuer, audience, time) are checked on every call.
        if cached is not None and await self.keys.key(cached.kid) is cached.key:
            return cached.claims
        header = _jws.unverified_header(raw)
        alg = _jws.allowed_algorithm(header, self.algorithms)
        if header.get("typ", "JWT") not in _ACCESS_TOKEN_TYPES:
            raise InvalidToken(f"a {header.get('typ')!r} is not an access token")
        if "jwk" in header or "jku" in header or "x5u" in header:
            # The issuer's keys come from its JWKS, never from the token itself.
            raise InvalidToken("the token may not carry or point to its own key")
        kid = header.get("kid")
        kid = kid if isinstance(kid, str) else None
        key = await self.keys.key(kid)
        claims = _jws.verify(raw, key, alg)
        if len(self._verified) >= _VERIFIED_CACHE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[raw] = _Verified(kid, key, claims)
        return claims
