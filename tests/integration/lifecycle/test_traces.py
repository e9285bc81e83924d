"""One portal request is one trace: spans of all three layers and of the backend calls."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.integration.lifecycle.conftest import Deployed, run_order


def _url(attributes: Mapping[str, object]) -> str:
    # The httpx instrumentation names the URL by the old or the new HTTP conventions.
    return str(attributes.get("url.full") or attributes.get("http.url"))


async def test_a_portal_request_traces_through_experience_process_system_and_the_crm(
    deployed: Deployed, spans: InMemorySpanExporter
) -> None:
    """Portal v2 -> order-to-cash and crm-orders -> the CRM sandbox, all under one trace id."""
    order = await run_order(deployed)
    spans.clear()
    response = await deployed.http.get(f"/experience/customer-portal/v2/orders/{order}")
    assert response.status_code == 200, response.text
    trace_id = response.headers["traceparent"].split("-")[1]

    finished = spans.get_finished_spans()
    assert {f"{s.context.trace_id:032x}" for s in finished} == {trace_id}
    # Our APIs' server spans; the in-process sandboxes trace their own side too.
    servers = [
        s
        for s in finished
        if s.kind is SpanKind.SERVER and "ledgerbridge.api" in (s.attributes or {})
    ]
    layers = {(s.attributes or {})["ledgerbridge.layer"] for s in servers}
    assert layers == {"experience", "process", "system"}
    by_id = {s.context.span_id: s for s in finished}
    (portal,) = [s for s in servers if s.parent is None or s.parent.span_id not in by_id]
    assert (portal.attributes or {})["ledgerbridge.api"] == "customer-portal"
    # The echoed traceparent names the portal's own server span.
    assert response.headers["traceparent"].split("-")[2] == f"{portal.context.span_id:016x}"

    crm_port = deployed.settings.salesforce.base_url.rsplit(":", 1)[1]
    backend_calls = [
        s
        for s in finished
        if s.kind is SpanKind.CLIENT and f":{crm_port}/" in _url(s.attributes or {})
    ]
    assert backend_calls, [s.attributes for s in finished if s.kind is SpanKind.CLIENT]
    for call in backend_calls:
        assert call.parent is not None
        parent = by_id[call.parent.span_id]
        assert (parent.attributes or {})["ledgerbridge.api"] == "crm-orders"
