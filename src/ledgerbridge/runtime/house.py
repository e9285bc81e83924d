"""The house: one ASGI app that mounts APIs at their base paths, and the links between layers.

In the embedded default every layer lives in one house and a layer reaches the one below over
an in-process ASGI transport. When a layer's base URL is configured, its clients speak real
HTTP to that host instead. The code of the callers is the same either way.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, metadata_of
from ledgerbridge.runtime.context import outbound_headers
from ledgerbridge.runtime.observability import (
    CONSUMER_HEADER,
    Insight,
    current_api_var,
    instrument_layer_client,
)

_IN_PROCESS_BASE = "http://ledgerbridge.internal"


class House:
    """A set of mounted APIs served as one ASGI app."""

    def __init__(self, insight: Insight | None = None) -> None:
        self.app = Starlette()
        self.apis: list[ApiMetadata] = []
        self.insight = insight or Insight()

    def mount(self, apps: Iterable[FastAPI]) -> None:
        """Mount each API at its base path."""
        for api in apps:
            meta = metadata_of(api)
            api.state.insight = self.insight
            self.app.router.routes.append(Mount(meta.base_path, app=api, name=meta.name))
            self.apis.append(meta)

    def layers(self) -> set[Layer]:
        """The layers this house serves."""
        return {meta.layer for meta in self.apis}


async def _propagate_context(request: httpx.Request) -> None:
    for name, value in outbound_headers().items():
        request.headers.setdefault(name, value)
    # The API making the call is the consumer of the one it calls (see docs/lifecycle.md).
    if (caller := current_api_var.get()) is not None:
        request.headers.setdefault(CONSUMER_HEADER, caller)


def layer_http_client(
    house: House, base_url: str | None, *, timeout: float = 30.0
) -> httpx.AsyncClient:
    """An HTTP client for one layer: in-process through ``house`` unless ``base_url`` is set.

    The client forwards the correlation id and traceparent of the request being served.
    """
    hooks = {"request": [_propagate_context]}
    if base_url:
        return httpx.AsyncClient(base_url=base_url, timeout=timeout, event_hooks=hooks)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=house.app),
        base_url=_IN_PROCESS_BASE,
        timeout=timeout,
        event_hooks=hooks,
    )
    instrument_layer_client(client)
    return client
