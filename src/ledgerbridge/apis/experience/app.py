"""Composition root of the Experience layer: builds every Experience API in this package."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.runtime.discovery import api_view_modules


def build_experience_apis(deps: ExperienceDeps) -> list[FastAPI]:
    """One app per Experience API, each built by the runtime factory."""
    apps: list[FastAPI] = []
    for views in api_view_modules(__package__):
        # An API serving several versions side by side builds one app per version.
        built = views.create_app(deps)
        apps.extend(built if isinstance(built, list) else [built])
    return apps
