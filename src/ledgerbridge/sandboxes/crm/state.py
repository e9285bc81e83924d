"""What one sandbox app holds: its settings, its store and the query cursors it keeps open."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from ledgerbridge.sandboxes.crm.records import Records
from ledgerbridge.sandboxes.crm.store import Store


@dataclass(frozen=True)
class Settings:
    """How the org is configured: credentials, API version, quota."""

    client_id: str
    client_secret: str
    username: str
    password: str
    security_token: str
    api_version: str
    daily_request_limit: int
    jwt_key: rsa.RSAPublicKey | None = None


@dataclass
class Cursor:
    """The rest of a query result, kept for nextRecordsUrl."""

    rows: list[dict[str, Any]]
    total: int
    batch: int
    resource: str = "query"


@dataclass
class SandboxState:
    """Everything one sandbox app holds."""

    settings: Settings
    store: Store
    records: Records
    cursors: dict[str, Cursor] = field(default_factory=dict)

    def new_locator(self) -> str:
        """A fresh query locator, in Salesforce's 01g... form."""
        return "01g" + secrets.token_hex(8)[:15].upper()
