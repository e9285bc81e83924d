"""Fault injection: latency, error rates per status, outage windows, per route, seeded.

A plan is a list of rules; every rule whose route pattern and method match a request applies:
latencies add up, outages answer 503, and error rates draw from one seeded random stream, so
a plan with the same seed replays the same faults in the same order. The plan has the same
shape as the ERP sandbox's, so chaos tests drive both alike. /sandbox/admin is never faulted.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime
from fnmatch import fnmatchcase

from pydantic import BaseModel, Field, model_validator

EXEMPT_PREFIX = "/sandbox/admin"


class Outage(BaseModel):
    """A window (UTC) during which matching requests get 503."""

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Outage:
        if self.end <= self.start:
            raise ValueError("an outage must end after it starts")
        return self


class FaultRule(BaseModel):
    """Faults for the requests whose path matches `route` (fnmatch) and method."""

    route: str = Field(default="*", description="fnmatch pattern on the URL path")
    methods: list[str] = Field(default_factory=list, description="empty means every method")
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    latency_jitter_ms: int = Field(default=0, ge=0, le=60_000)
    error_rates: dict[int, float] = Field(
        default_factory=dict, description="HTTP status -> probability per request"
    )
    outages: list[Outage] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid_rates(self) -> FaultRule:
        for status, rate in self.error_rates.items():
            if not 400 <= status <= 599:
                raise ValueError(f"error status {status} is not a 4xx or 5xx")
            if not 0 <= rate <= 1:
                raise ValueError(f"rate {rate} for {status} is not a probability")
        if sum(self.error_rates.values()) > 1:
            raise ValueError("error rates of one rule add up to more than 1")
        return self

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        methods = {m.upper() for m in self.methods}
        return (not methods or method.upper() in methods) and fnmatchcase(path, self.route)


class FaultPlan(BaseModel):
    """All fault rules and the seed of their random stream."""

    seed: int = 0
    rules: list[FaultRule] = Field(default_factory=list)


class Fault(Exception):
    """The injected failure a request gets, in Salesforce's error shape."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        """Retry-After where a well-behaved client should wait."""
        return {"Retry-After": "1"} if self.status in (429, 503) else {}


# What Salesforce calls these failures when they really happen.
_CODES = {
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests; retry later (injected)"),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred (injected)"),
    502: ("SERVER_UNAVAILABLE", "Bad gateway (injected)"),
    503: ("SERVER_UNAVAILABLE", "Server unavailable (injected)"),
    504: ("SERVER_UNAVAILABLE", "Gateway timeout (injected)"),
}


class FaultInjector:
    """Applies the current plan to incoming requests and counts what it injected."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.plan = FaultPlan()
        self._random = random.Random(0)
        self.injected: dict[str, int] = {}

    def load(self, plan: FaultPlan) -> None:
        """Replace the plan and restart its random stream from the seed."""
        self.plan = plan
        self._random = random.Random(plan.seed)
        self.injected = {}

    async def apply(self, method: str, path: str) -> None:
        """Delay the request and/or raise the Fault it should get."""
        if path.startswith(EXEMPT_PREFIX):
            return
        now = self._clock()
        for rule in self.plan.rules:
            if not rule.matches(method, path):
                continue
            jitter = (
                self._random.randint(0, rule.latency_jitter_ms) if rule.latency_jitter_ms else 0
            )
            if delay := rule.latency_ms + jitter:
                self._count("latency")
                await asyncio.sleep(delay / 1000)
            if any(o.start <= now < o.end for o in rule.outages):
                self._count("outage")
                raise Fault(503, "SERVER_UNAVAILABLE", "The org is down for maintenance (injected)")
            draw = self._random.random()
            threshold = 0.0
            for status, rate in sorted(rule.error_rates.items()):
                threshold += rate
                if draw < threshold:
                    self._count(str(status))
                    code, message = _CODES.get(status, ("INJECTED_FAULT", f"Injected {status}"))
                    raise Fault(status, code, message)

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1
