"""What the Process layer is built with: its store, a client to the System layer, and one to
the Process layer itself (for a Process API that calls another)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from ledgerbridge.runtime.idempotency import IdempotencyPolicy
from ledgerbridge.runtime.settings import ProcessSettings
from ledgerbridge.runtime.store import Store


@dataclass(frozen=True, slots=True)
class ProcessDeps:
    """The Process layer's dependencies, handed over by the composition root.

    ``process`` reaches the Process APIs themselves; left out, they are reached through
    ``system``, which is right when that client is the embedded house's in-process one
    (it serves every layer).
    """

    store: Store
    system: httpx.AsyncClient
    process: httpx.AsyncClient | None = None
    settings: ProcessSettings = field(default_factory=ProcessSettings)

    @property
    def peers(self) -> httpx.AsyncClient:
        """The client to the other Process APIs."""
        return self.system if self.process is None else self.process

    def idempotency(self, *, required: bool) -> IdempotencyPolicy:
        """The Idempotency-Key policy of a Process API, under the layer's settings."""
        seconds = self.settings.idempotency_in_flight_seconds
        return IdempotencyPolicy(required=required, in_flight_timeout=timedelta(seconds=seconds))
