"""The token service's clients and how they authenticate: argon2-hashed secrets, or
private_key_jwt assertions (RFC 7523) signed by a key the client registered.

Client records come from a JSON file named in the settings (never from the repository)::

    [{"client_id": "partner-7", "jwks": {"keys": [...]}, "scopes": ["partner:orders"],
      "audiences": ["urn:ledgerbridge:partner"], "dpop_bound": true,
      "claims": {"partner_id": "P-7"}},
     {"client_id": "customer-portal", "secret_hash": "$argon2id$...",
      "scopes": ["order-to-cash:read"], "audiences": ["urn:ledgerbridge:order-to-cash"],
      "acts_for": ["urn:ledgerbridge:customer-portal"]}]

``ledgerbridge token hash-secret`` prints the argon2 hash of a secret for such a file.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

from ledgerbridge.runtime.security import _jws
from ledgerbridge.runtime.security._errors import InvalidClient, InvalidToken
from ledgerbridge.runtime.security.keys import Clock
from ledgerbridge.runtime.security.replay import ReplayCache
from ledgerbridge.runtime.security.tokens import check_time_claims

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_HASHER = PasswordHasher()
# Verifying a made-up hash keeps an unknown client id as slow as a wrong secret.
_DECOY_HASH = _HASHER.hash("ledgerbridge-decoy-secret")
_MAX_ASSERTION_LIFETIME = 300


def hash_secret(secret: str) -> str:
    """The argon2id hash of a client secret or a password, as stored in a record."""
    return _HASHER.hash(secret)


def verify_secret(stored: str | None, secret: str) -> bool:
    """Whether ``secret`` matches the argon2 hash ``stored``; as slow when nothing is stored."""
    try:
        _HASHER.verify(stored or _DECOY_HASH, secret)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A registered client: how it authenticates and what it may ask for.

    ``audiences`` are the APIs it may get tokens for; ``acts_for`` the audiences of tokens it
    may trade in token exchange (the API it runs as); ``dpop_bound`` makes every token it gets
    sender-constrained; ``claims`` bind its tokens to its data (``{"partner_id": "P-7"}``).
    ``redirect_uris`` are where the authorization code flow may send a user back (matched
    exactly); a ``public`` client has no credentials and may use that flow only (PKCE).
    """

    client_id: str
    scopes: frozenset[str]
    audiences: frozenset[str]
    secret_hash: str | None = None
    jwks: Mapping[str, Any] | None = None
    acts_for: frozenset[str] = field(default_factory=frozenset)
    dpop_bound: bool = False
    claims: Mapping[str, str] = field(default_factory=dict)
    redirect_uris: frozenset[str] = field(default_factory=frozenset)
    public: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClientRecord:
        """A record from its JSON form (see the module docstring)."""
        public = bool(data.get("public", False))
        if not public and not data.get("secret_hash") and not data.get("jwks"):
            raise ValueError(f"client {data.get('client_id')!r} has neither secret_hash nor jwks")
        if public and not data.get("redirect_uris"):
            raise ValueError(f"public client {data.get('client_id')!r} has no redirect_uris")
        return cls(
            client_id=str(data["client_id"]),
            scopes=frozenset(data.get("scopes", ())),
            audiences=frozenset(data.get("audiences", ())),
            secret_hash=data.get("secret_hash"),
            jwks=data.get("jwks"),
            acts_for=frozenset(data.get("acts_for", ())),
            dpop_bound=bool(data.get("dpop_bound", False)),
            claims={str(k): str(v) for k, v in data.get("claims", {}).items()},
            redirect_uris=frozenset(data.get("redirect_uris", ())),
            public=public,
        )

    def public_keys(self) -> list[Key]:
        """The keys the client signs its assertions with; private or symmetric keys are skipped."""
        if not self.jwks:
            return []
        keys = []
        for entry in self.jwks.get("keys", []):
            if isinstance(entry, dict) and "d" not in entry and entry.get("kty") != "oct":
                try:
                    keys.append(KeySet.import_key_set({"keys": [entry]}).keys[0])
                except (JoseError, ValueError):
                    continue
        return keys


class ClientRegistry:
    """The clients the token service knows, and the checks that authenticate them.

    Usage::

        registry = ClientRegistry.from_file(Path("/run/secrets/ledgerbridge-clients.json"))
        client = registry.authenticate(form, authorization=headers.get("authorization"),
                                       token_endpoint="https://.../auth/token")
    """

    def __init__(
        self,
        clients: Iterable[ClientRecord] = (),
        *,
        algorithms: Collection[str] = frozenset({"PS256", "ES256", "EdDSA", "Ed25519"}),
        replay: ReplayCache | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._clients = {c.client_id: c for c in clients}
        self.algorithms = frozenset(algorithms)
        self.clock = clock
        self.replay = replay or ReplayCache(clock=clock)

    @classmethod
    def from_file(cls, path: Path, **options: Any) -> ClientRegistry:
        """The clients listed in a JSON file."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls((ClientRecord.from_json(entry) for entry in data), **options)

    def register(self, client: ClientRecord) -> None:
        """Add or replace a client."""
        self._clients[client.client_id] = client

    def authenticate(
        self,
        form: Mapping[str, str],
        *,
        authorization: str | None,
        token_endpoint: str,
        issuer: str,
    ) -> ClientRecord:
        """The client a token request comes from, or InvalidClient.

        Exactly one method is accepted per request: client_secret_basic, client_secret_post or
        private_key_jwt (whose assertion's audience is the token endpoint or the issuer); a
        public client names itself with ``client_id`` alone.
        """
        assertion = form.get("client_assertion")
        methods = [
            authorization is not None and authorization.lower().startswith("basic "),
            "client_secret" in form,
            assertion is not None,
        ]
        if not any(methods):
            public = self._clients.get(form.get("client_id", ""))
            if public is not None and public.public:
                return public
        if sum(methods) != 1:
            raise InvalidClient("use exactly one client authentication method")
        if assertion is not None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise InvalidClient("client_assertion_type must be the JWT bearer type")
            return self._by_assertion(
                assertion, form.get("client_id"), audiences={token_endpoint, issuer}
            )
        if authorization is not None:
            client_id, secret = _basic(authorization)
        else:
            client_id, secret = form.get("client_id", ""), form["client_secret"]
        return self._by_secret(client_id, secret)

    def _by_secret(self, client_id: str, secret: str) -> ClientRecord:
        client = self._clients.get(client_id)
        stored = client.secret_hash if client is not None else None
        if client is None or not verify_secret(stored, secret):
            raise InvalidClient("client authentication failed")
        return client

    def _by_assertion(
        self, assertion: str, named: str | None, *, audiences: set[str]
    ) -> ClientRecord:
        try:
            header = _jws.unverified_header(assertion)
            alg = _jws.allowed_algorithm(header, self.algorithms)
            unverified = _unverified_claims(assertion)
        except InvalidToken as exc:
            raise InvalidClient(f"client assertion: {exc.message}") from exc
        client_id = unverified.get("iss")
        client = self._clients.get(client_id) if isinstance(client_id, str) else None
        if client is None or (named is not None and named != client_id):
            raise InvalidClient("client authentication failed")
        claims = self._verified(assertion, client, alg, header.get("kid"))
        if claims.get("sub") != client_id:
            raise InvalidClient("client assertion: sub must equal iss")
        aud = claims.get("aud")
        given = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
        if given.isdisjoint(audiences):
            raise InvalidClient("client assertion: aud is not this token service")
        now = self.clock()
        try:
            check_time_claims({"iat": now, **claims}, now=now, skew=60)
        except InvalidToken as exc:
            raise InvalidClient(f"client assertion: {exc.message}") from exc
        exp = float(claims["exp"])
        if exp - now > _MAX_ASSERTION_LIFETIME:
            raise InvalidClient("client assertion: lives too long")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise InvalidClient("client assertion: jti is required")
        if not self.replay.first_use(f"assertion:{client_id}:{jti}", until=exp + 60):
            raise InvalidClient("client assertion: used before (replay)")
        return client

    @staticmethod
    def _verified(assertion: str, client: ClientRecord, alg: str, kid: object) -> dict[str, Any]:
        candidates = [k for k in client.public_keys() if kid is None or k.kid == kid]
        for key in candidates:
            try:
                return _jws.verify(assertion, key, alg)
            except InvalidToken:
                continue
        raise InvalidClient("client assertion: the signature does not verify")

    def all(self) -> list[ClientRecord]:
        """Every registered client."""
        return list(self._clients.values())

    def get(self, client_id: str) -> ClientRecord | None:
        """The client with ``client_id``, if registered."""
        return self._clients.get(client_id)


def _basic(authorization: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(authorization.split(" ", 1)[1], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, IndexError):
        raise InvalidClient("malformed Basic credentials") from None
    client_id, sep, secret = raw.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before joining.
    return unquote_plus(client_id), unquote_plus(secret)


def _unverified_claims(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidToken("the assertion's payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidToken("the assertion's payload is not a JSON object")
    return claims
