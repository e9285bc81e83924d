"""What the Experience layer is built with: clients to the layers below, and its store."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from ledgerbridge.apis.experience.background import Background
from ledgerbridge.runtime.app_factory import ApiMetadata
from ledgerbridge.runtime.security import PageSignIn
from ledgerbridge.runtime.store import Store


@dataclass(frozen=True, slots=True)
class ExperienceDeps:
    """The Experience layer's dependencies, handed over by the composition root.

    Args:
        process: Client to the Process layer.
        system: Client to the System layer (plain reads only).
        store: Where Idempotency-Keys of the layer's writes are kept.
        source_budget: Seconds a fan-out waits for any one call below before it answers
            without that part.
        watch_interval: Seconds between two looks at a case being watched for changes.
        webhooks: The client that delivers partner webhooks (outbound to the internet).
        webhook_retry_wait: Seconds before the first redelivery of a webhook; doubles after.
        webhook_domains: When not empty, the only domains partner callbacks may point to.
        background: Where watchers and deliveries run; the composition root closes it first.
        session_key: Signs the pages' pending sign-in cookies (random per process by
            default; set it to share sign-ins between processes).
        sign_in: The pages' OAuth client of the token service; without it nobody signs in.
        catalog: The APIs of the house, for the console's catalog graph.
    """

    process: httpx.AsyncClient
    system: httpx.AsyncClient
    store: Store | None = None
    source_budget: float = 5.0
    watch_interval: float = 1.0
    webhooks: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(timeout=10.0, follow_redirects=False)
    )
    webhook_retry_wait: float = 2.0
    webhook_domains: tuple[str, ...] = ()
    background: Background = field(default_factory=Background)
    session_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sign_in: PageSignIn | None = None
    catalog: Callable[[], Sequence[ApiMetadata]] = tuple
