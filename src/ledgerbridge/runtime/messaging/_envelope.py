"""The message envelope every event travels in, in the style of CloudEvents 1.0."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.runtime.context import correlation_id_var, trace_var

CONTENT_TYPE = "application/cloudevents+json"


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """One event: who sent it, what it is, when, in which conversation, and its data.

    Usage::

        message = Message.create(
            type="order.accepted", source="/process/order-to-cash", subject=case_id,
            data={"order_id": "801..."},
        )
        await bus.publish("orders", message)

    ``id`` identifies the event across redeliveries: consumers deduplicate on it (see
    ``consumed_once``). ``subject`` names the case or record the event is about; dead letters
    index it as the case id.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=_new_id, min_length=1, max_length=128)
    type: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    subject: str | None = Field(default=None, max_length=128)
    time: datetime = Field(default_factory=_now)
    correlation_id: str | None = Field(default=None, max_length=128)
    traceparent: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        type: str,
        source: str,
        data: dict[str, Any] | None = None,
        subject: str | None = None,
    ) -> Message:
        """A new message carrying the current correlation id and trace context, if any."""
        trace = trace_var.get()
        return cls(
            type=type,
            source=source,
            subject=subject,
            data=data or {},
            correlation_id=correlation_id_var.get(),
            traceparent=trace.traceparent if trace else None,
        )

    def to_bytes(self) -> bytes:
        """The JSON form sent over the wire (Decimal values become strings)."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Message:
        """Parse the wire form; raises ``pydantic.ValidationError`` on a malformed body."""
        return cls.model_validate_json(body)
