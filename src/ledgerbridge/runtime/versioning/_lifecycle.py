"""Lifecycle of an API version: active, deprecated, sunset; and the policy a sunset must keep.

A version declares when it was (or will be) deprecated, when it goes away and which major
version replaces it. Its status at any moment follows from those dates::

    Lifecycle(deprecated=datetime(2026, 11, 1, tzinfo=UTC),
              sunset=datetime(2028, 5, 1, tzinfo=UTC), successor=2)

The governance check refuses a sunset earlier than the policy window after deprecation
(18 months unless configured), so consumers always get that long to move.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Protocol

from ledgerbridge.runtime.errors import LedgerbridgeError

__all__ = [
    "DEFAULT_WINDOW_MONTHS",
    "Lifecycle",
    "LifecyclePolicyViolation",
    "VersionStatus",
    "VersionedApi",
    "check_lifecycle_policy",
    "earliest_sunset",
    "lifecycle_headers",
]

DEFAULT_WINDOW_MONTHS = 18


class VersionStatus(enum.StrEnum):
    """Where a version is in its life."""

    ACTIVE = "active"
    DEPRECATED = "deprecated"
    SUNSET = "sunset"


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """When a version is deprecated and sunset, and which major version succeeds it."""

    deprecated: datetime | None = None
    sunset: datetime | None = None
    successor: int | None = None

    def __post_init__(self) -> None:
        for name in ("deprecated", "sunset"):
            when = getattr(self, name)
            if when is not None and when.utcoffset() is None:
                raise ValueError(f"lifecycle {name} date must carry a time zone: {when!r}")
        if self.sunset is not None and self.deprecated is None:
            raise ValueError("a version gets a sunset only once it is deprecated")
        if (
            self.sunset is not None
            and self.deprecated is not None
            and self.sunset <= self.deprecated
        ):
            raise ValueError("a sunset must come after the deprecation")

    def status(self, now: datetime) -> VersionStatus:
        """The status at ``now``."""
        if self.sunset is not None and now >= self.sunset:
            return VersionStatus.SUNSET
        if self.deprecated is not None and now >= self.deprecated:
            return VersionStatus.DEPRECATED
        return VersionStatus.ACTIVE


class VersionedApi(Protocol):
    """What the policy check needs of an API version."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def lifecycle(self) -> Lifecycle: ...


class LifecyclePolicyViolation(LedgerbridgeError):
    """A version's sunset comes sooner after its deprecation than the policy allows."""


def earliest_sunset(deprecated: datetime, months: int) -> datetime:
    """``months`` calendar months after ``deprecated`` (the 31st becomes the month's last day)."""
    month_index = deprecated.month - 1 + months
    year, month = deprecated.year + month_index // 12, month_index % 12 + 1
    day = min(deprecated.day, calendar.monthrange(year, month)[1])
    return deprecated.replace(year=year, month=month, day=day)


def check_lifecycle_policy(
    apis: Iterable[VersionedApi], *, window_months: int = DEFAULT_WINDOW_MONTHS
) -> None:
    """Refuse any version whose sunset is sooner than ``window_months`` after its deprecation.

    Raises:
        LifecyclePolicyViolation: naming every offending version.
    """
    problems = []
    for api in apis:
        life = api.lifecycle
        if life.deprecated is None or life.sunset is None:
            continue
        allowed = earliest_sunset(life.deprecated, window_months)
        if life.sunset < allowed:
            problems.append(
                f"{api.name} v{api.version}: sunset {life.sunset:%Y-%m-%d} is before "
                f"{allowed:%Y-%m-%d}, {window_months} months after its deprecation"
            )
    if problems:
        raise LifecyclePolicyViolation("; ".join(problems))


def lifecycle_headers(
    life: Lifecycle, *, info_url: str, successor_url: str | None
) -> list[tuple[str, str]]:
    """The ``Deprecation``, ``Sunset`` and ``Link`` headers a version answers with.

    An active version with no deprecation planned gets none.
    """
    if life.deprecated is None:
        return []
    # RFC 9745: a structured-field Date, seconds since the epoch after "@".
    headers = [("Deprecation", f"@{int(life.deprecated.timestamp())}")]
    if life.sunset is not None:  # RFC 8594: an HTTP-date
        headers.append(("Sunset", format_datetime(life.sunset.astimezone(UTC), usegmt=True)))
    links = [f'<{info_url}>; rel="deprecation"; type="application/json"']
    if successor_url is not None:
        links.append(f'<{successor_url}>; rel="successor-version"')
    headers.append(("Link", ", ".join(links)))
    return headers
