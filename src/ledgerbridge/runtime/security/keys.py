"""Signing keys: the token service's key ring, and the resource side's cached view of a JWKS.

Rotation without downtime works from both ends: :meth:`KeyRing.rotate` signs with a new key at
once but keeps publishing the old one until every token it signed has expired, and
:class:`JwksCache` fetches the JWKS again when a token names a key it has not seen.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeySet, OKPKey, RSAKey

from ledgerbridge.runtime.security._errors import InvalidToken

Clock = Callable[[], float]

_SIGNING_ALGORITHM = {ECKey: "ES256", OKPKey: "EdDSA", RSAKey: "PS256"}


class KeySource(Protocol):
    """Where a validator finds the public key a token names."""

    async def key(self, kid: str | None) -> Key:
        """The public key with ``kid``; raise InvalidToken if there is none."""
        ...


def signing_algorithm(key: Key) -> str:
    """The algorithm the token service signs with ``key``: ES256, EdDSA or PS256."""
    marked = key.get("alg")
    return marked if isinstance(marked, str) else _SIGNING_ALGORITHM[type(key)]


def new_signing_key() -> Key:
    """A fresh P-256 key for ES256, with its RFC 7638 thumbprint as ``kid``."""
    return ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"}, auto_kid=True)


@dataclass
class _Published:
    key: Key
    retire_at: float | None = None


class KeyRing:
    """The token service's signing keys: one active, older ones published until they retire.

    Usage::

        ring = KeyRing.from_file(Path("/run/secrets/ledgerbridge-jwks.json"))
        ring.active            # signs new tokens
        ring.rotate(grace=360)  # a new active key; the old one stays in the JWKS 6 minutes
    """

    def __init__(self, keys: list[Key] | None = None, *, clock: Clock = time.time) -> None:
        chosen = keys or [new_signing_key()]
        for key in chosen:
            if key.kid is None:
                key.ensure_kid()
        self._keys = [_Published(key) for key in chosen]
        self._clock = clock

    @classmethod
    def from_file(cls, path: Path, *, clock: Clock = time.time) -> KeyRing:
        """Read a private JWK set; its first key signs."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(list(KeySet.import_key_set(data).keys), clock=clock)

    @property
    def active(self) -> Key:
        """The key new tokens are signed with."""
        return self._keys[0].key

    def rotate(self, key: Key | None = None, *, grace: float) -> Key:
        """Sign with ``key`` (or a new one) from now on; keep the old keys for ``grace`` seconds.

        Args:
            key: The next signing key; a new P-256 key when omitted.
            grace: How long the old keys stay published: the token lifetime plus clock skew.

        Returns:
            The new active key.
        """
        self._prune()
        retire_at = self._clock() + grace
        for published in self._keys:
            if published.retire_at is None:
                published.retire_at = retire_at
        new = key or new_signing_key()
        if new.kid is None:
            new.ensure_kid()
        self._keys.insert(0, _Published(new))
        return new

    def _prune(self) -> None:
        now = self._clock()
        self._keys = [p for p in self._keys if p.retire_at is None or p.retire_at > now]

    def jwks(self) -> dict[str, Any]:
        """The public JWK set: the active key and every key not yet retired."""
        self._prune()
        return {"keys": [p.key.as_dict(private=False) for p in self._keys]}

    async def key(self, kid: str | None) -> Key:
        """The published key with ``kid`` (the in-process KeySource of the embedded house)."""
        self._prune()
        for published in self._keys:
            if published.key.kid == kid:
                return published.key
        raise InvalidToken(f"no published key has kid {kid!r}")


class JwksCache:
    """The public keys of an OpenID Connect issuer, found by discovery and kept for a while.

    An unknown ``kid`` triggers one fresh fetch (at most every ``min_refresh`` seconds), which
    is how a rotation at the issuer reaches the resource side without downtime.
    """

    def __init__(
        self,
        issuer: str,
        http: httpx.AsyncClient,
        *,
        jwks_url: str | None = None,
        cache_seconds: float = 300.0,
        min_refresh: float = 10.0,
        clock: Clock = time.time,
    ) -> None:
        self.issuer = issuer
        self._http = http
        self._jwks_url = jwks_url
        self._cache_seconds = cache_seconds
        self._min_refresh = min_refresh
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> Key:
        """The issuer's public key with ``kid``, fetching the JWKS when stale or unknown."""
        if kid is None:
            raise InvalidToken("the token names no key (kid)")
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > self._cache_seconds
        if stale or kid not in self._keys:
            async with self._lock:
                fetched = self._fetched_at
                if fetched is None or now - fetched >= min(self._min_refresh, self._cache_seconds):
                    await self._refresh()
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken(f"the issuer publishes no key {kid!r}") from None

    async def _refresh(self) -> None:
        try:
            if self._jwks_url is None:
                found = await self._http.get(f"{self.issuer}/.well-known/openid-configuration")
                found.raise_for_status()
                config = found.json()
                if config.get("issuer") != self.issuer:
                    raise InvalidToken("the discovery document names another issuer")
                self._jwks_url = str(config["jwks_uri"])
            answer = await self._http.get(self._jwks_url)
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise InvalidToken("the issuer's keys cannot be fetched") from exc
        keys: dict[str, Key] = {}
        for entry in document.get("keys", []):
            # Only public asymmetric keys: a shared secret or a private key in a JWKS is a
            # misconfiguration, and an "oct" key would open the door to HMAC key confusion.
            if not isinstance(entry, dict) or entry.get("kty") == "oct" or "d" in entry:
                continue
            try:
                key = KeySet.import_key_set({"keys": [entry]}).keys[0]
            except (JoseError, ValueError):
                continue
            if key.kid is not None:
                keys[key.kid] = key
        self._keys = keys
        self._fetched_at = self._clock()
