"""Fan-out with partial results: several calls to the layers below at once, each failing alone.

A consumer screen is more useful with four panels of five than with an error page, so every
call's outcome is kept apart with the reason it failed, and a slow backend is cut off at a
time budget instead of holding the whole answer back::

    profile, cases = await asyncio.gather(
        attempt(crm.get_account(account_id), budget=5.0),
        attempt(cases.list_cases(account_id=account_id), budget=5.0),
    )
    if profile.ok: ...
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ledgerbridge.runtime.errors import BackendUnavailable, LedgerbridgeError
from ledgerbridge.runtime.problems import UpstreamProblem

T = TypeVar("T")


class SourceState(enum.StrEnum):
    """How one part of a composed answer fared."""

    OK = "ok"
    UNAVAILABLE = "unavailable"
    SKIPPED = "skipped"


class SourceStatus(BaseModel):
    """The marker of one part: its state, why when it is missing, and how long it took."""

    state: SourceState
    detail: str | None = None
    elapsed_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What one call gave: its value, or the failure instead; and how long it took."""

    value: T | None
    failure: LedgerbridgeError | None
    elapsed_ms: int

    @property
    def ok(self) -> bool:
        """Whether the call answered."""
        return self.failure is None

    @property
    def not_found(self) -> bool:
        """Whether the layer below answered that the record does not exist (404)."""
        return isinstance(self.failure, UpstreamProblem) and self.failure.status == 404


async def attempt(call: Awaitable[T], *, source: str, budget: float) -> Outcome[T]:
    """Await ``call`` for at most ``budget`` seconds; a failure becomes an `Outcome`.

    Only failures the layers below report on purpose (the error tree, problem+json answers,
    running out of time) become outcomes; a bug in our own code still raises.

    Args:
        call: The call to a layer below.
        source: The part's name, carried by the failure when time runs out.
        budget: Seconds to wait before giving up on it.
    """
    started = time.perf_counter()
    failure: LedgerbridgeError | None = None
    value: T | None = None
    try:
        value = await asyncio.wait_for(call, budget)
    except TimeoutError:
        failure = BackendUnavailable(f"no answer within {budget:g}s", backend=source)
    except LedgerbridgeError as exc:
        failure = exc
    elapsed = round((time.perf_counter() - started) * 1000)
    return Outcome(value=value, failure=failure, elapsed_ms=elapsed)


def status_of(outcome: Outcome[Any]) -> SourceStatus:
    """The marker an answer shows for ``outcome``."""
    if outcome.failure is None:
        return SourceStatus(state=SourceState.OK, elapsed_ms=outcome.elapsed_ms)
    return SourceStatus(
        state=SourceState.UNAVAILABLE,
        detail=outcome.failure.message,
        elapsed_ms=outcome.elapsed_ms,
    )
