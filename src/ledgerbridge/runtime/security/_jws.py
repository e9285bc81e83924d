"""Compact JWS reading with an algorithm allow-list; signatures are joserfc's, never ours.

The header is read before any key is chosen, so that an algorithm off the list ("none",
HS256 against a public key, RS256 unless configured) is refused before any crypto runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import warnings
from collections.abc import Collection, Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from ledgerbridge.runtime.security._errors import InvalidToken

#: What FAPI 2.0 allows; "Ed25519" is RFC 9864's name for what "EdDSA" means here.
STRONG_ALGORITHMS = frozenset({"PS256", "ES256", "EdDSA", "Ed25519"})
_KEY_TYPES: dict[str, type[Key]] = {
    "PS256": RSAKey,
    "RS256": RSAKey,
    "ES256": ECKey,
    "EdDSA": OKPKey,
    "Ed25519": OKPKey,
}
_MIN_RSA_BITS = 2048
_MAX_TOKEN_BYTES = 16_384


def _b64json(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("the token is not a compact JWS") from exc
    if not isinstance(value, dict):
        raise InvalidToken("the token is not a compact JWS")
    return value


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, before any check of its signature."""
    if len(token) > _MAX_TOKEN_BYTES or token.count(".") != 2:
        raise InvalidToken("the token is not a compact JWS")
    return _b64json(token.split(".", 1)[0])


def allowed_algorithm(header: Mapping[str, Any], allowed: Collection[str]) -> str:
    """The header's ``alg`` if it is on the allow-list; refuse it otherwise."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed or alg not in _KEY_TYPES:
        raise InvalidToken(f"algorithm {alg!r} is not accepted")
    return alg


def check_key_fits(key: Key, alg: str) -> None:
    """Refuse a key of another type than ``alg`` needs, or one marked for another algorithm.

    This is the key-confusion guard: an RSA public key is never used as an HMAC secret.
    """
    if not isinstance(key, _KEY_TYPES[alg]):
        raise InvalidToken(f"the key {key.kid!r} does not fit algorithm {alg}")
    marked = key.get("alg")
    if marked is not None and marked != alg and {marked, alg} != {"EdDSA", "Ed25519"}:
        raise InvalidToken(f"the key {key.kid!r} is for {marked}, not {alg}")
    if isinstance(key, RSAKey) and key.raw_value.key_size < _MIN_RSA_BITS:
        raise InvalidToken(f"the key {key.kid!r} is shorter than {_MIN_RSA_BITS} bits")
    if isinstance(key, ECKey) and key.curve_name != "P-256":
        raise InvalidToken(f"the key {key.kid!r} is not on P-256")
    if isinstance(key, OKPKey) and key.curve_name != "Ed25519":
        raise InvalidToken(f"the key {key.kid!r} is not an Ed25519 key")


def verify(token: str, key: Key, alg: str) -> dict[str, Any]:
    """Check the signature of ``token`` with ``key`` and ``alg``; return its claims."""
    check_key_fits(key, alg)
    try:
        with warnings.catch_warnings():
            # joserfc flags "EdDSA" as superseded by RFC 9864's "Ed25519"; FAPI 2.0 still
            # names it, and both mean Ed25519 here (check_key_fits enforces the curve).
            warnings.simplefilter("ignore", SecurityWarning)
            obj = jws.deserialize_compact(token, key, algorithms=[alg])
    except JoseError as exc:
        raise InvalidToken("the token's signature does not verify") from exc
    payload = obj.payload
    try:
        claims = json.loads(payload)
    except ValueError as exc:
        raise InvalidToken("the token's payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise InvalidToken("the token's payload is not a JSON object")
    return claims


def sign(header: Mapping[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    """A compact JWS of ``claims``, signed with ``key`` under ``header['alg']``."""
    alg = str(header["alg"])
    check_key_fits(key, alg)
    payload = json.dumps(dict(claims), separators=(",", ":"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(dict(header), payload, key, algorithms=[alg])
