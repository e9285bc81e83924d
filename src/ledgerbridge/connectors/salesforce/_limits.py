"""The org's API request allowance: watched on every answer, and a pause once it runs out.

Salesforce reports the allowance in the ``Sforce-Limit-Info`` header (``api-usage=N/M``) and,
once it is spent, refuses every call with REQUEST_LIMIT_EXCEEDED. Calling on would only
spend more of the next window, so the connector pauses: for the ``Retry-After`` the answer
gave, else for a configured window. While paused, calls fail fast with `BackendPaused`
(a 503 with Retry-After at the System APIs) without reaching Salesforce; the first call
after the window is the probe.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client import Gauge

from ledgerbridge.runtime.errors import BackendPaused
from ledgerbridge.runtime.observability import REGISTRY

BACKEND = "salesforce"
LIMIT_HEADER = "Sforce-Limit-Info"
LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")

_USED = Gauge(
    "ledgerbridge_salesforce_api_requests_used",
    "API requests the Salesforce org has counted in its current window (Sforce-Limit-Info).",
    registry=REGISTRY,
)
_LIMIT = Gauge(
    "ledgerbridge_salesforce_api_requests_limit",
    "API requests the Salesforce org allows per window (Sforce-Limit-Info).",
    registry=REGISTRY,
)
_PAUSED = Gauge(
    "ledgerbridge_salesforce_paused_seconds",
    "Seconds until calls to Salesforce resume after REQUEST_LIMIT_EXCEEDED (0: not paused).",
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """How much of the org's API request allowance is spent, as Salesforce last reported it."""

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        """Requests left in the window (0 once it is spent)."""
        return max(self.limit - self.used, 0)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ApiUsage | None:
        """The usage an answer reports, or None when it carries no ``Sforce-Limit-Info``."""
        found = _USAGE.search(headers.get(LIMIT_HEADER, ""))
        return cls(int(found.group(1)), int(found.group(2))) if found else None


class RequestLimit:
    """Tracks the reported usage and the pause after REQUEST_LIMIT_EXCEEDED.

    ``clock`` gives monotonic seconds; tests pass their own to end a pause without waiting.
    """

    def __init__(self, *, pause: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._pause = pause
        self._clock = clock
        self._resume_at = 0.0
        self.usage: ApiUsage | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        """Note the usage an answer reports."""
        usage = ApiUsage.from_headers(headers)
        if usage is not None:
            self.usage = usage
            _USED.set(usage.used)
            _LIMIT.set(usage.limit)

    def check(self) -> None:
        """Raise `BackendPaused` while the pause lasts; return once calls may go out."""
        left = self.seconds_left
        _PAUSED.set(left)
        if left > 0:
            raise BackendPaused(
                f"{LIMIT_EXCEEDED}: calls paused for {math.ceil(left)}s",
                backend=BACKEND,
                retry_after=math.ceil(left),
            )

    def exceeded(self, retry_after: str | None, message: str, status_code: int) -> BackendPaused:
        """Start the pause Salesforce asked for; the error to raise for the refused call."""
        seconds = self._pause
        if retry_after is not None and retry_after.strip().isdigit():
            seconds = float(retry_after)
        self._resume_at = max(self._resume_at, self._clock() + seconds)
        _PAUSED.set(seconds)
        return BackendPaused(
            message,
            backend=BACKEND,
            retry_after=max(math.ceil(seconds), 1),
            status_code=status_code,
        )

    @property
    def seconds_left(self) -> float:
        """Seconds until calls resume (0 when not paused)."""
        return max(self._resume_at - self._clock(), 0.0)
