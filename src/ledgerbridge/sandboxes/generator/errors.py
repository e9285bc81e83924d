"""How seeding a running sandbox fails: the sandbox refused something, and said why."""

from __future__ import annotations

import httpx


class SeedingFailed(Exception):
    """A sandbox refused a seeded record; the message carries its answer."""


def raise_for_refusal(response: httpx.Response) -> None:
    """Raise SeedingFailed, with the sandbox's answer, for an error response."""
    if response.is_error:
        raise SeedingFailed(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
