"""Why a token, a proof or a client was refused.

Tree::

    AuthError
     +-- InvalidToken        (401 invalid_token: bad signature, algorithm, issuer, audience, time)
     +-- InvalidDpopProof    (401 invalid_dpop_proof)
     |    +-- DpopNonceRequired  (401 use_dpop_nonce, with a fresh DPoP-Nonce)
     +-- InsufficientScope   (403 insufficient_scope)
     +-- InvalidClient       (401 invalid_client at the token service)
     +-- InvalidGrant        (400 invalid_grant / invalid_target / invalid_request)
"""

from __future__ import annotations

from ledgerbridge.runtime.errors import LedgerbridgeError


class AuthError(LedgerbridgeError):
    """A credential was refused; ``code`` is the OAuth error code to answer with."""

    code = "invalid_request"
    status = 400


class InvalidToken(AuthError):
    """The access token is missing, malformed, badly signed, or not valid here and now."""

    code = "invalid_token"
    status = 401


class InvalidDpopProof(AuthError):
    """The DPoP proof is missing or fails one of the RFC 9449 checks."""

    code = "invalid_dpop_proof"
    status = 401


class DpopNonceRequired(InvalidDpopProof):
    """The proof must carry the server's current nonce, sent back in ``DPoP-Nonce``."""

    code = "use_dpop_nonce"

    def __init__(self, message: str, *, nonce: str) -> None:
        super().__init__(message)
        self.nonce = nonce


class InsufficientScope(AuthError):
    """The token is valid but lacks the scope the operation needs."""

    code = "insufficient_scope"
    status = 403

    def __init__(self, message: str, *, required: tuple[str, ...]) -> None:
        super().__init__(message)
        self.required = required


class NotYours(AuthError):
    """The token is valid but bound to another customer or partner than the request names."""

    code = "access_denied"
    status = 403


class InvalidClient(AuthError):
    """Client authentication at the token service failed."""

    code = "invalid_client"
    status = 401


class InvalidGrant(AuthError):
    """A token request is refused; ``code`` says which way (RFC 6749, RFC 8693)."""

    status = 400

    def __init__(self, message: str, *, code: str = "invalid_grant") -> None:
        super().__init__(message)
        self.code = code
