"""Published contract of the dead-letters Process API: its models and typed client."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ledgerbridge.runtime.api_client import ApiClient
from ledgerbridge.runtime.paging import Page

DEAD_LETTER_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
StatusName = Literal["open", "replaying", "replayed", "discarded"]
KindName = Literal["message", "step"]
Actor = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    Field(examples=["ops@bank.example"]),
]


class AttemptRead(BaseModel):
    """One failed attempt at handling the item."""

    number: int
    error: str
    error_type: str
    at: datetime


class ActionRead(BaseModel):
    """One audited action on a dead letter: recorded, replay, replayed, discarded..."""

    action: str
    actor: str
    note: str | None = None
    at: datetime


class DeadLetterSummary(BaseModel):
    """A dead letter as listed: what failed, why, and where it stands."""

    id: str
    kind: KindName = Field(description="message (a consumed event) or step (a process step)")
    source: str = Field(description="The topic, or the step's name.")
    consumer: str = Field(description="The consumer group, or the process.")
    message_id: str
    message_type: str | None = None
    reason: str = Field(description="Why it was given up on: retries exhausted, permanent error.")
    error: str = Field(description="The last attempt's error.")
    error_type: str
    correlation_id: str | None = None
    case_id: str | None = None
    status: StatusName
    replay_count: int
    attempt_count: int
    dead_lettered_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None
    time_to_resolution_seconds: float | None = Field(
        default=None, description="From the latest dead-lettering to replay or discard."
    )


class DeadLetterDetail(DeadLetterSummary):
    """One dead letter whole: its payload, every attempt and its audit trail."""

    payload: dict[str, Any]
    created_at: datetime
    attempts: list[AttemptRead]
    actions: list[ActionRead]


class DeadLetterQuery(BaseModel):
    """Which dead letters a bulk replay takes; unset fields match everything."""

    model_config = ConfigDict(extra="forbid")

    kind: KindName | None = None
    source: str | None = Field(default=None, max_length=256)
    consumer: str | None = Field(default=None, max_length=128)
    case_id: str | None = Field(default=None, max_length=128)
    correlation_id: str | None = Field(default=None, max_length=128)
    error_type: str | None = Field(default=None, max_length=128)
    since: datetime | None = Field(default=None, description="Dead-lettered at or after.")
    until: datetime | None = Field(default=None, description="Dead-lettered before.")


class ReplayRequest(BaseModel):
    """Who replays a dead letter (with tokens on, the token's subject is recorded instead)."""

    model_config = ConfigDict(extra="forbid")

    actor: Actor


class BulkReplayRequest(BaseModel):
    """Who replays, and which open dead letters: those matching ``match``, up to ``limit``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"actor": "ops@bank.example", "match": {"consumer": "billing"}, "limit": 100}
            ]
        },
    )

    actor: Actor
    match: DeadLetterQuery = Field(default_factory=DeadLetterQuery)
    limit: int = Field(default=100, ge=1, le=1000)


class DiscardRequest(BaseModel):
    """Who discards a dead letter, and why (required)."""

    model_config = ConfigDict(extra="forbid")

    actor: Actor
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
        Field(examples=["duplicate of an order already closed by hand"]),
    ]


class ReplayResult(BaseModel):
    """What one replay did: ``replayed`` (handed back for delivery), ``skipped`` (not open),
    ``failed`` (could not be handed back; still open) or ``reopened`` (failed again at once)."""

    id: str
    result: Literal["replayed", "skipped", "failed", "reopened"]
    detail: str = ""


class BulkReplayResult(BaseModel):
    """What a bulk replay did, per dead letter and in total."""

    results: list[ReplayResult]
    replayed: int
    skipped: int
    failed: int
    reopened: int


class ResolutionStatsRead(BaseModel):
    """Time from dead-lettering to resolution (replay or discard), in seconds."""

    resolved: int
    open: int = Field(description="Open or being replayed now.")
    mean_seconds: float | None = None
    median_seconds: float | None = None
    p95_seconds: float | None = None
    longest_seconds: float | None = None


class DeadLettersClient(ApiClient):
    """Inspects, replays and discards the dead letters of the Process layer."""

    base_path = "/process/dead-letters/v1"

    async def list_dead_letters(
        self,
        *,
        status: StatusName | None = None,
        kind: KindName | None = None,
        source: str | None = None,
        consumer: str | None = None,
        case_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[DeadLetterSummary]:
        """One page of dead letters, oldest first (every status unless one is given)."""
        filters = {
            "status": status,
            "kind": kind,
            "source": source,
            "consumer": consumer,
            "case_id": case_id,
            "since": None if since is None else since.isoformat(),
            "until": None if until is None else until.isoformat(),
        }
        return await self._page(
            "/dead-letters", DeadLetterSummary, filters=filters, limit=limit, cursor=cursor
        )

    async def get_dead_letter(self, dead_letter_id: str) -> DeadLetterDetail:
        """One dead letter with its payload, attempts and audit trail."""
        return await self._call("GET", f"/dead-letters/{quote(dead_letter_id)}", DeadLetterDetail)

    async def replay(self, dead_letter_id: str, actor: str) -> ReplayResult:
        """Hand one dead letter back for delivery; replaying it again is skipped."""
        body = ReplayRequest(actor=actor).model_dump()
        path = f"/dead-letters/{quote(dead_letter_id)}/replay"
        return await self._call("POST", path, ReplayResult, json=body)

    async def replay_many(self, request: BulkReplayRequest) -> BulkReplayResult:
        """Replay every open dead letter matching the request's filter."""
        body = request.model_dump(mode="json")
        return await self._call("POST", "/replays", BulkReplayResult, json=body)

    async def discard(self, dead_letter_id: str, request: DiscardRequest) -> DeadLetterDetail:
        """Close a dead letter without replaying it; the reason is kept in its audit trail."""
        body = request.model_dump()
        path = f"/dead-letters/{quote(dead_letter_id)}/discard"
        return await self._call("POST", path, DeadLetterDetail, json=body)

    async def stats(self, *, since: datetime | None = None) -> ResolutionStatsRead:
        """Time to resolution over the dead letters resolved since ``since`` (all when None)."""
        params = {} if since is None else {"since": since.isoformat()}
        return await self._call("GET", "/stats", ResolutionStatsRead, params=params)
