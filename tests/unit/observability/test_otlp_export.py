"""Spans leave over OTLP/HTTP when an endpoint is configured (in a process of their own)."""

from __future__ import annotations

import asyncio
import sys
import textwrap

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ledgerbridge.demo.servers import serving

# OpenTelemetry allows one tracer provider per process: the API under trace runs in its own.
_TRACED_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    import httpx
    from fastapi import APIRouter
    from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api
    from ledgerbridge.runtime.observability import configure_tracing

    provider = configure_tracing(service_name="otlp-test", otlp_endpoint=sys.argv[1])
    router = APIRouter()

    @router.get("/things")
    async def things() -> dict[str, list[str]]:
        return {"items": []}

    meta = ApiMetadata(name="things", layer=Layer.SYSTEM, version=1, owner="t", summary="t")
    app = build_api(meta, routers=[router])

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/things")).status_code == 200

    asyncio.run(main())
    assert provider.force_flush()
    """
)


async def test_spans_are_exported_to_the_configured_otlp_endpoint() -> None:
    """A request's server span reaches the collector at <endpoint>/v1/traces as OTLP protobuf."""
    received: list[tuple[str, str, bytes]] = []

    async def collect(request: Request) -> Response:
        received.append((request.url.path, request.headers["content-type"], await request.body()))
        return Response(status_code=200)

    collector = Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])])
    async with serving(collector) as url:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _TRACED_PROCESS, url, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    assert [(path, kind) for path, kind, _ in received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    export = ExportTraceServiceRequest.FromString(received[0][2])
    (resource_spans,) = export.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "otlp-test"
    spans = [span for scope in resource_spans.scope_spans for span in scope.spans]
    assert [span.name for span in spans] == ["GET /things"]
    attributes = {a.key: a.value for a in spans[0].attributes}
    assert attributes["ledgerbridge.api"].string_value == "things"
    assert attributes["http.response.status_code"].int_value == 200
