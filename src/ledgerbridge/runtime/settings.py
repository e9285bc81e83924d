"""Typed settings, read from the environment (prefix LEDGERBRIDGE_) in this one place.

Nested values use a double underscore: ``LEDGERBRIDGE_SALESFORCE__BASE_URL``.
Build ``Settings()`` in a composition root and pass the pieces down; nothing reads it at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/ledgerbridge.sqlite3"


class ResilienceSettings(BaseModel):
    """How calls to one backend are guarded: timeout, retries, circuit breaker, bulkhead.

    Times are seconds. Retries apply only to calls safe to repeat and only on
    BackendUnavailable; the breaker opens after ``breaker_threshold`` failed calls in a row
    (each already retried) and lets a probe through after ``breaker_reset_timeout``.
    """

    call_timeout: float = Field(default=15.0, gt=0)
    retry_attempts: int = Field(default=4, ge=1)
    retry_timeout: float = Field(default=30.0, gt=0)
    retry_wait_initial: float = Field(default=0.1, ge=0)
    retry_wait_max: float = Field(default=2.0, ge=0)
    retry_wait_jitter: float = Field(default=0.5, ge=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_reset_timeout: float = Field(default=30.0, gt=0)
    max_concurrency: int = Field(default=20, ge=1)
    max_queue_wait: float = Field(default=5.0, ge=0)


class SalesforceSettings(BaseModel):
    """Where the CRM lives and how to sign in (OAuth 2.0 client credentials)."""

    base_url: str = "http://127.0.0.1:8101"
    client_id: str = "ledgerbridge"
    client_secret: SecretStr = SecretStr("sandbox-secret")
    api_version: str = "59.0"
    timeout: float = 10.0
    resilience: ResilienceSettings = ResilienceSettings()


class S4HanaSettings(BaseModel):
    """Where the ERP's OData services live and the technical user to call them with."""

    base_url: str = "http://127.0.0.1:8102/sap/opu/odata/sap"
    username: str = "LEDGERBRIDGE"
    password: SecretStr = SecretStr("sandbox-secret")
    timeout: float = 10.0
    resilience: ResilienceSettings = ResilienceSettings()


class TrytonSettings(BaseModel):
    """Where Tryton's JSON-RPC interface lives, which database, and the integration user."""

    base_url: str = "http://127.0.0.1:8103"
    database: str = "erp"
    username: str = "ledgerbridge"
    password: SecretStr = SecretStr("ledgerbridge-demo")
    # For customers without one, when Tryton's account configuration names no default.
    payment_term: str | None = "Net 30"
    # The invoice payment method (journal and account) incoming payments are posted with.
    payment_method: str | None = "Cash"
    # The accounting category (revenue account) new products get.
    product_category: str | None = "Goods for resale"
    timeout: float = 10.0


class ObservabilitySettings(BaseModel):
    """Metrics, API analytics and traces; tracing is on when asked for or an OTLP URL is set."""

    metrics: bool = True
    analytics: bool = True
    analytics_flush_seconds: float = 5.0
    tracing: bool = False
    otlp_endpoint: str | None = None
    trace_sample_ratio: float = 1.0
    service_name: str = "ledgerbridge"


class ProcessSettings(BaseModel):
    """The Process layer's background workers: the outbox relay and the case advancer."""

    workers: bool = True
    # How often open order-to-cash cases are compared with the ERP.
    advance_interval: float = Field(default=1.0, gt=0)
    # How long a case whose start failed on an outage waits before it is run again.
    retry_after_seconds: float = Field(default=30.0, ge=0)
    relay_interval: float = Field(default=0.2, gt=0)
    # After this long a request holding an Idempotency-Key whose process died frees the key.
    idempotency_in_flight_seconds: float = Field(default=60.0, gt=0)
    # An accepted order the ERP has not completed within this many hours is queued for review.
    fulfilment_sla_hours: float = Field(default=72.0, gt=0)
    # A TOML file of credit-verification rules (docs/process.md); without one, the defaults.
    credit_rules_file: Path | None = None
    # Seconds between scheduled product and pricing syncs (ERP -> CRM); none when unset.
    product_sync_interval: float | None = Field(default=None, gt=0)
    # Follow the CRM's Order changes (Change Data Capture) where the workers run with the
    # System layer: an order activated in the CRM starts its case, a cancelled one cancels it.
    crm_changes: bool = True


class LifecycleSettings(BaseModel):
    """API governance: the shortest allowed time from a version's deprecation to its sunset."""

    deprecation_window_months: int = 18


class AuthSettings(BaseModel):
    """How callers prove who they are (see docs/security.md); used when ``auth_mode`` is "jwt".

    ``issuer`` is an OpenID Connect issuer whose discovery document names its JWKS; by default
    the embedded token service. Each API expects ``audience_prefix + <api name>`` as audience.
    Signing keys and client records come from files, never from the repository.
    """

    issuer: str = "http://ledgerbridge.internal/auth"
    # Skips discovery when set; otherwise <issuer>/.well-known/openid-configuration is read.
    jwks_url: str | None = None
    audience_prefix: str = "urn:ledgerbridge:"
    algorithms: tuple[str, ...] = ("PS256", "ES256", "EdDSA")
    # RS256 is accepted only when an issuer cannot sign with anything better.
    allow_rs256: bool = False
    clock_skew_seconds: int = Field(default=60, ge=0, le=60)
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    # APIs that accept DPoP-bound tokens only (RFC 9449).
    dpop_required_apis: tuple[str, ...] = ("partner",)
    dpop_proof_max_age_seconds: int = Field(default=60, ge=1, le=300)
    access_token_seconds: int = Field(default=300, ge=30, le=3600)
    # The embedded token service's signing keys (a private JWK set) and its clients (JSON).
    signing_keys_file: Path | None = None
    clients_file: Path | None = None
    # Hex secret that derives DPoP nonces; shared by every replica of the token service.
    nonce_secret: SecretStr | None = None
    # Callers from outside the house, per client, user and API: a burst, then a rate a second.
    rate_limit_burst: int = Field(default=100, ge=1)
    rate_limit_per_second: float = Field(default=20.0, gt=0)
    # The largest request body an API reads; larger ones get 413.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Serve each API's /docs, /redoc and /openapi.json; unset: yes, except in production.
    expose_docs: bool | None = None
    # End users who sign in to the pages: a JSON file (runtime/security/users.py), never the repo.
    users_file: Path | None = None
    # Where the pages' sign-in may send a browser back to (matched exactly): the demo's port.
    page_redirect_uris: tuple[str, ...] = (
        "http://127.0.0.1:8000/experience/web/v1/signin/callback",
        "http://localhost:8000/experience/web/v1/signin/callback",
    )
    # Seconds a signed-in user's token lives: it is the pages' session.
    user_token_seconds: int = Field(default=3600, ge=60, le=43200)
    # The password of the users `ledgerbridge demo` seeds (a documented demo default).
    demo_password: SecretStr = SecretStr("ledgerbridge-demo")


class Settings(BaseSettings):
    """Everything configurable, with defaults that run on one laptop with no servers."""

    model_config = SettingsConfigDict(
        env_prefix="LEDGERBRIDGE_", env_nested_delimiter="__", extra="ignore"
    )

    # "production" closes what only developers need (the docs pages) unless said otherwise.
    environment: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    log_json: bool = True
    # Base URLs of the layers; unset means "in this process" over an ASGI transport.
    system_url: str | None = None
    process_url: str | None = None
    experience_url: str | None = None
    salesforce: SalesforceSettings = SalesforceSettings()
    # Which ERP stands behind the ERP System APIs.
    erp: Literal["s4hana", "tryton"] = "s4hana"
    s4hana: S4HanaSettings = S4HanaSettings()
    tryton: TrytonSettings = TrytonSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    # Redis shared by the replicas (redis://host:6379/0): DPoP proofs seen and request
    # budgets; unset keeps them in each process.
    redis_url: str | None = None
    # The event bus: memory:// (in this process), amqp://... (RabbitMQ) or nats://... (JetStream).
    bus_url: str = "memory://"
    # Prefix of every exchange, queue, stream and subject on the broker, so deployments (or
    # test runs) can share one: letters, digits, _ and -.
    bus_namespace: str = Field(
        default="ledgerbridge", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"
    )
    process: ProcessSettings = ProcessSettings()
    # "off" serves every API without authentication; "jwt" requires access tokens.
    auth_mode: Literal["off", "jwt"] = "off"
    auth: AuthSettings = AuthSettings()

    @property
    def docs_exposed(self) -> bool:
        """Whether the APIs serve their docs pages and OpenAPI JSON over HTTP."""
        if self.auth.expose_docs is not None:
            return self.auth.expose_docs
        return self.environment != "production"
