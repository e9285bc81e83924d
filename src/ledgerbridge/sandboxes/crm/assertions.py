"""JWT bearer assertions (the OAuth 2.0 JWT bearer flow), checked as Salesforce checks them.

The connected app holds a certificate; the client signs `{iss: consumer key, sub: username,
aud: https://login.salesforce.com, exp}` with the matching private key (RS256).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class InvalidAssertion(Exception):
    """The assertion is malformed, badly signed, expired or for someone else."""


def _b64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidAssertion("assertion is not base64url") from exc


def public_key(pem: str) -> rsa.RSAPublicKey:
    """The RSA key in a PEM certificate or public key."""
    data = pem.encode()
    key = (
        x509.load_pem_x509_certificate(data).public_key()
        if b"CERTIFICATE" in data
        else serialization.load_pem_public_key(data)
    )
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the JWT bearer key must be RSA")
    return key


def verify(
    assertion: str, key: rsa.RSAPublicKey, *, client_id: str, username: str, now: datetime
) -> None:
    """Check an RS256 assertion's signature and its iss, sub, aud and exp claims."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise InvalidAssertion("assertion is not a JWT")
    try:
        header: dict[str, Any] = json.loads(_b64(parts[0]))
        claims: dict[str, Any] = json.loads(_b64(parts[1]))
    except ValueError as exc:
        raise InvalidAssertion("assertion is not JSON") from exc
    if header.get("alg") != "RS256":
        raise InvalidAssertion("only RS256 assertions are accepted")
    try:
        key.verify(
            _b64(parts[2]),
            f"{parts[0]}.{parts[1]}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature as exc:
        raise InvalidAssertion("invalid signature") from exc
    if claims.get("iss") != client_id:
        raise InvalidAssertion("client identifier invalid")
    if claims.get("sub") != username:
        raise InvalidAssertion("user hasn't approved this consumer")
    audience = urlsplit(str(claims.get("aud", "")))
    if audience.scheme != "https" or not (audience.hostname or "").endswith("salesforce.com"):
        raise InvalidAssertion("audience is invalid")
    try:
        expires = float(claims["exp"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidAssertion("expiration is missing") from exc
    if expires <= now.timestamp():
        raise InvalidAssertion("expired authorization code")
