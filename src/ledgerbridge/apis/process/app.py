"""Composition root of the Process layer: builds every Process API found in this package."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.runtime.discovery import api_view_modules


def build_process_apis(deps: ProcessDeps) -> list[FastAPI]:
    """One app per Process API, each built by the runtime factory."""
    return [views.create_app(deps) for views in api_view_modules(__package__)]
