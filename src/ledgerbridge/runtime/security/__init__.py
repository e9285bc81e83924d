"""Security of every API: access tokens, DPoP, scopes, and the embedded token service.

Off unless ``Settings.auth_mode`` is "jwt" (see docs/security.md). The resource side is
:class:`ResourceGuard` (installed by the app factory); the issuing side is
:func:`token_service_app` with its :class:`KeyRing` and :class:`ClientRegistry`.
"""

from ledgerbridge.runtime.security._errors import (
    AuthError,
    DpopNonceRequired,
    InsufficientScope,
    InvalidClient,
    InvalidDpopProof,
    InvalidGrant,
    InvalidToken,
)
from ledgerbridge.runtime.security.authorize import AuthorizationGrants, s256
from ledgerbridge.runtime.security.clients import (
    ASSERTION_TYPE,
    ClientRecord,
    ClientRegistry,
    hash_secret,
)
from ledgerbridge.runtime.security.dpop import (
    DPOP_HEADER,
    NONCE_HEADER,
    DpopKey,
    DpopVerifier,
    NonceSource,
    jwk_thumbprint,
    token_hash,
)
from ledgerbridge.runtime.security.exchange import ACCESS_TOKEN_TYPE, EXCHANGE_GRANT
from ledgerbridge.runtime.security.guard import (
    BOUND_HEADERS,
    OPEN_PATHS,
    ResourceGuard,
    bound_claim,
    caller,
    operation_scopes,
    require_scopes,
)
from ledgerbridge.runtime.security.issuer import IssuedToken, TokenIssuer
from ledgerbridge.runtime.security.keys import (
    JwksCache,
    KeyRing,
    KeySource,
    new_signing_key,
    signing_algorithm,
)
from ledgerbridge.runtime.security.layers import (
    SESSION_PAGES,
    EmbeddedSecurity,
    LayerTokens,
    called_api,
)
from ledgerbridge.runtime.security.limits import TokenBuckets, velocity_rule
from ledgerbridge.runtime.security.replay import ReplayCache
from ledgerbridge.runtime.security.signin import PageSignIn, SignedIn, Started
from ledgerbridge.runtime.security.token_service import (
    IssueListener,
    TokenService,
    audited,
    token_service_app,
    token_service_of,
)
from ledgerbridge.runtime.security.tokens import (
    AccessToken,
    TokenValidator,
    algorithm_allow_list,
    current_token_var,
)
from ledgerbridge.runtime.security.users import (
    ADMINISTER_SCOPE,
    ADMINISTRATOR,
    CUSTOMER,
    CUSTOMER_CLAIM,
    OPERATE_SCOPE,
    OPERATOR,
    UserRecord,
    UserRegistry,
    role_scopes,
)

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "ADMINISTER_SCOPE",
    "ADMINISTRATOR",
    "ASSERTION_TYPE",
    "BOUND_HEADERS",
    "CUSTOMER",
    "CUSTOMER_CLAIM",
    "DPOP_HEADER",
    "EXCHANGE_GRANT",
    "NONCE_HEADER",
    "OPEN_PATHS",
    "OPERATE_SCOPE",
    "OPERATOR",
    "SESSION_PAGES",
    "AccessToken",
    "AuthError",
    "AuthorizationGrants",
    "ClientRecord",
    "ClientRegistry",
    "DpopKey",
    "DpopNonceRequired",
    "DpopVerifier",
    "EmbeddedSecurity",
    "InsufficientScope",
    "InvalidClient",
    "InvalidDpopProof",
    "InvalidGrant",
    "InvalidToken",
    "IssueListener",
    "IssuedToken",
    "JwksCache",
    "KeyRing",
    "KeySource",
    "LayerTokens",
    "NonceSource",
    "PageSignIn",
    "ReplayCache",
    "ResourceGuard",
    "SignedIn",
    "Started",
    "TokenBuckets",
    "TokenIssuer",
    "TokenService",
    "TokenValidator",
    "UserRecord",
    "UserRegistry",
    "algorithm_allow_list",
    "audited",
    "bound_claim",
    "called_api",
    "caller",
    "current_token_var",
    "hash_secret",
    "jwk_thumbprint",
    "new_signing_key",
    "operation_scopes",
    "require_scopes",
    "role_scopes",
    "s256",
    "signing_algorithm",
    "token_hash",
    "token_service_app",
    "token_service_of",
    "velocity_rule",
]
