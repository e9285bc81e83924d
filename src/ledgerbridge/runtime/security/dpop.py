"""RFC 9449 DPoP: proofs of possession, their checks, and the server nonce.

A client holds a :class:`DpopKey` and sends a fresh proof with each request; the token
service binds the access token to the key's thumbprint (``cnf.jkt``) and a resource accepts
the token only with a proof signed by that key, for that method and URL, with the token's
hash (``ath``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeySet

from ledgerbridge.runtime.security import _jws
from ledgerbridge.runtime.security._errors import DpopNonceRequired, InvalidDpopProof, InvalidToken
from ledgerbridge.runtime.security.keys import Clock, signing_algorithm
from ledgerbridge.runtime.security.replay import ReplayCache

DPOP_HEADER = "DPoP"
NONCE_HEADER = "DPoP-Nonce"
PROOF_TYPE = "dpop+jwt"
PROOF_ALGORITHMS = frozenset({"ES256", "PS256", "EdDSA", "Ed25519"})
_MAX_JTI = 256
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token_hash(access_token: str) -> str:
    """The ``ath`` of a proof: base64url of the SHA-256 of the access token."""
    return _b64(hashlib.sha256(access_token.encode("ascii")).digest())


def jwk_thumbprint(key: Key) -> str:
    """The RFC 7638 SHA-256 thumbprint of ``key``'s public part (``cnf.jkt``)."""
    return key.thumbprint()


def normalize_htu(url: str) -> str:
    """A URL as proofs compare it: no query or fragment, lower-case scheme and host, no
    default port (RFC 9449 section 4.3, point 9)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


class DpopKey:
    """A client's proof-of-possession key and the proofs it signs.

    Usage::

        key = DpopKey.generate()
        proof = key.proof("POST", "https://api.example/token", nonce=server_nonce)
        headers = {"Authorization": f"DPoP {token}",
                   "DPoP": key.proof("GET", url, access_token=token)}
    """

    def __init__(self, key: Key) -> None:
        self.key = key
        self.alg = signing_algorithm(key)
        self.jkt = jwk_thumbprint(key)

    @classmethod
    def generate(cls) -> DpopKey:
        """A new P-256 key, proofs signed with ES256."""
        return cls(ECKey.generate_key("P-256", parameters={"alg": "ES256"}))

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        iat: float | None = None,
    ) -> str:
        """A fresh DPoP proof for one request."""
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method.upper(),
            "htu": normalize_htu(url),
            "iat": math.floor(time.time() if iat is None else iat),
        }
        if access_token is not None:
            claims["ath"] = token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": PROOF_TYPE, "alg": self.alg, "jwk": self.key.as_dict(private=False)}
        return _jws.sign(header, claims, self.key)


class NonceSource:
    """Server nonces that need no storage: an HMAC of the current time window.

    A nonce stays good for this window and the next, so a client that just received one never
    finds it stale on its next request. Replicas sharing ``secret`` accept each other's nonces.
    """

    def __init__(
        self, secret: bytes | None = None, *, window: float = 120.0, clock: Clock = time.time
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._window = window
        self._clock = clock

    def _at(self, window: int) -> str:
        digest = hmac.new(self._secret, str(window).encode(), hashlib.sha256).digest()
        return _b64(digest[:18])

    def current(self) -> str:
        """The nonce to hand out now."""
        return self._at(int(self._clock() // self._window))

    def accepts(self, nonce: object) -> bool:
        """Whether ``nonce`` was handed out in this window or the one before."""
        if not isinstance(nonce, str):
            return False
        window = int(self._clock() // self._window)
        return any(hmac.compare_digest(nonce, self._at(w)) for w in (window, window - 1))


class DpopVerifier:
    """Check DPoP proofs: typ, alg, jwk, signature, htm, htu, iat window, jti, ath and nonce."""

    def __init__(
        self,
        *,
        replay: ReplayCache | None = None,
        nonces: NonceSource | None = None,
        max_age: float = 60.0,
        skew: float = 10.0,
        clock: Clock = time.time,
    ) -> None:
        self.replay = replay or ReplayCache(clock=clock)
        self.nonces = nonces
        self.max_age = max_age
        self.skew = skew
        self.clock = clock

    def verify(
        self,
        proof: str | None,
        *,
        method: str,
        url: str,
        access_token: str | None = None,
        jkt: str | None = None,
    ) -> str:
        """Check ``proof`` for one request; return the thumbprint of its key.

        Args:
            proof: The DPoP header's value.
            method: The request's method.
            url: The request's URL as the server received it.
            access_token: The token presented with the proof (resource side): ``ath`` must match.
            jkt: The thumbprint the access token is bound to: the proof's key must have it.

        Raises:
            InvalidDpopProof: The first check that failed.
            DpopNonceRequired: The proof lacks the current server nonce.
        """
        if not proof:
            raise InvalidDpopProof("a DPoP proof is required")
        try:
            header = _jws.unverified_header(proof)
        except InvalidToken as exc:
            raise InvalidDpopProof("the DPoP proof is not a compact JWS") from exc
        if header.get("typ") != PROOF_TYPE:
            raise InvalidDpopProof("the DPoP proof's typ is not dpop+jwt")
        alg = header.get("alg")
        if alg not in PROOF_ALGORITHMS:
            raise InvalidDpopProof(f"the DPoP proof's algorithm {alg!r} is not accepted")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") == "oct":
            raise InvalidDpopProof("the DPoP proof carries no public key")
        try:
            key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
            claims = _jws.verify(proof, key, str(alg))
        except (JoseError, ValueError, InvalidToken) as exc:
            raise InvalidDpopProof("the DPoP proof's signature does not verify") from exc
        found = jwk_thumbprint(key)
        if jkt is not None and not hmac.compare_digest(found, jkt):
            raise InvalidDpopProof("the DPoP proof is signed by another key than the token's")
        if claims.get("htm") != method.upper():
            raise InvalidDpopProof("the DPoP proof is for another method")
        if not isinstance(claims.get("htu"), str) or normalize_htu(claims["htu"]) != normalize_htu(
            url
        ):
            raise InvalidDpopProof("the DPoP proof is for another URL")
        self._check_iat(claims.get("iat"))
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str) or not hmac.compare_digest(ath, token_hash(access_token)):
                raise InvalidDpopProof("the DPoP proof is for another access token (ath)")
        if self.nonces is not None and not self.nonces.accepts(claims.get("nonce")):
            raise DpopNonceRequired(
                "the DPoP proof must carry the server's nonce", nonce=self.nonces.current()
            )
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI:
            raise InvalidDpopProof("the DPoP proof has no usable jti")
        until = float(claims["iat"]) + self.max_age + self.skew
        if not self.replay.first_use(f"dpop:{found}:{jti}", until=until):
            raise InvalidDpopProof("the DPoP proof was used before (replay)")
        return found

    def _check_iat(self, iat: object) -> None:
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise InvalidDpopProof("the DPoP proof has no iat")
        now = self.clock()
        if iat > now + self.skew:
            raise InvalidDpopProof("the DPoP proof was issued in the future")
        if iat < now - self.max_age:
            raise InvalidDpopProof("the DPoP proof is too old")
