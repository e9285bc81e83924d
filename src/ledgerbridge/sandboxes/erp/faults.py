"""Fault injection: latency, error rates per status, outage windows, per route, seeded.

A plan is a list of rules; every rule whose route pattern and method match a request
applies: latencies add up, outages answer 503, and error rates draw from one seeded
random stream, so a plan with the same seed replays the same faults in the same order.
The sandbox's own /sandbox/admin routes are never faulted.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from fnmatch import fnmatchcase

from pydantic import BaseModel, Field, model_validator

from ledgerbridge.sandboxes.erp.errors import ODataError
from ledgerbridge.sandboxes.erp.payloads import Clock

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


_MESSAGES = {
    429: "Rate limit exceeded; retry later",
    500: "Internal server error (injected)",
    502: "Bad gateway (injected)",
    503: "Service unavailable (injected)",
    504: "Gateway timeout (injected)",
}


class FaultInjector:
    """Applies the current plan to incoming requests and counts what it injected."""

    def __init__(self, clock: Clock) -> None:
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
        """Delay the request and/or raise the fault it should get."""
        if path.startswith(EXEMPT_PREFIX):
            return
        now = self._clock()
        for rule in self.plan.rules:
            if not rule.matches(method, path):
                continue
            delay = rule.latency_ms + (
                self._random.randint(0, rule.latency_jitter_ms) if rule.latency_jitter_ms else 0
            )
            if delay:
                self._count("latency")
                await asyncio.sleep(delay / 1000)
            if any(o.start <= now < o.end for o in rule.outages):
                self._count("outage")
                raise ODataError(
                    503,
                    "/IWFND/CM_BEC/026",
                    "The system is down for maintenance (injected outage)",
                    headers={"Retry-After": "1"},
                )
            draw = self._random.random()
            threshold = 0.0
            for status, rate in sorted(rule.error_rates.items()):
                threshold += rate
                if draw < threshold:
                    self._count(str(status))
                    headers = {"Retry-After": "1"} if status in (429, 503) else {}
                    message = _MESSAGES.get(status, f"Injected error {status}")
                    raise ODataError(status, "/IWFND/CM_BEC/026", message, headers=headers)

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1
