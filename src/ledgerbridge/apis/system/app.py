"""Composition root of the System layer: builds every System API found in this package."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.examples import add_examples
from ledgerbridge.runtime.discovery import api_view_modules


def build_system_apis(backends: SystemBackends) -> list[FastAPI]:
    """One app per System API, each built by the runtime factory, its bodies with examples."""
    apps: list[FastAPI] = []
    for views in api_view_modules(__package__):
        # An API serving several versions side by side builds one app per version.
        built = views.create_app(backends)
        apps.extend(built if isinstance(built, list) else [built])
    return [add_examples(app) for app in apps]
