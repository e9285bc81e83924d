"""The catalog: declared dependencies match the calls traced end to end; its exports agree."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.integration.lifecycle.conftest import Deployed, run_order

from ledgerbridge.runtime.catalog import (
    build_catalog,
    catalog_json,
    catalog_markdown,
    catalog_mermaid,
)

Version = tuple[str, int]


def _observed_calls(spans: tuple[ReadableSpan, ...]) -> dict[Version, set[str]]:
    """Which API version called which API, read from parent links between server spans."""
    by_id = {s.context.span_id: s for s in spans}

    def ours(span: ReadableSpan) -> bool:
        return span.kind is SpanKind.SERVER and "ledgerbridge.api" in (span.attributes or {})

    calls: dict[Version, set[str]] = {}
    for span in filter(ours, spans):
        parent = by_id.get(span.parent.span_id) if span.parent else None
        while parent is not None and not ours(parent):
            parent = by_id.get(parent.parent.span_id) if parent.parent else None
        if parent is not None:
            caller = parent.attributes or {}
            key = (str(caller["ledgerbridge.api"]), int(str(caller["ledgerbridge.api_version"])))
            calls.setdefault(key, set()).add(str((span.attributes or {})["ledgerbridge.api"]))
    return calls


async def test_declared_dependencies_match_the_calls_traced_end_to_end(
    deployed: Deployed, spans: InMemorySpanExporter
) -> None:
    """Every call an API version makes is declared; the order flow makes the calls it declares."""
    order = await run_order(deployed)
    for path in (
        f"/customer-portal/v1/orders/{order}/status",
        f"/customer-portal/v2/orders/{order}",
    ):
        assert (await deployed.http.get(f"/experience{path}")).status_code == 200
    observed = _observed_calls(spans.get_finished_spans())
    declared = {(m.name, m.version): set(m.calls) for m in deployed.house.apis}
    undeclared = {
        api: calls - declared[api] for api, calls in observed.items() if calls - declared[api]
    }
    assert undeclared == {}
    assert observed[("customer-portal", 1)] == {"order-to-cash"}
    assert observed[("customer-portal", 2)] == {"order-to-cash", "crm-orders"}
    assert {"crm-orders", "crm-accounts", "erp-customers", "erp-sales-orders"} <= observed[
        ("order-to-cash", 1)
    ]


async def test_catalog_json_lists_each_api_once_with_all_its_versions(deployed: Deployed) -> None:
    """crm-orders is one entry with v1 deprecated towards v2, and v1 still its served path."""
    entries = build_catalog(deployed.house.apis, now=deployed.house.insight.clock.now())
    by_name = {e["name"]: e for e in catalog_json(entries)}
    crm_orders = by_name["crm-orders"]
    assert crm_orders["base_path"] == "/system/crm-orders/v1"
    assert [(v["version"], v["status"]) for v in crm_orders["versions"]] == [
        ("v1", "deprecated"),
        ("v2", "active"),
    ]
    assert crm_orders["versions"][0]["successor"] == "/system/crm-orders/v2"
    assert {"crm-orders", "order-to-cash"} <= set(by_name["customer-portal"]["calls"])
    assert by_name["order-to-cash"]["slo"]


async def test_the_catalog_page_has_a_table_per_layer_with_every_version(
    deployed: Deployed,
) -> None:
    """Every API version appears once under its layer, with its lifecycle dates."""
    entries = build_catalog(deployed.house.apis, now=deployed.house.insight.clock.now())
    page = catalog_markdown(entries)
    sections = page.split("\n## ")
    for meta in deployed.house.apis:
        (section,) = [s for s in sections if s.startswith(f"{meta.layer.value.capitalize()} APIs")]
        assert section.count(f"`{meta.base_path}`") == 1, meta.base_path
    assert "`/system/crm-orders/v1` deprecated 2026-11-01, sunset 2028-05-01, successor v2" in page


async def test_the_graph_draws_layers_as_bands_and_calls_as_arrows_by_version(
    deployed: Deployed,
) -> None:
    """One Mermaid band per layer, top-down; an arrow per declared call, labelled by version."""
    entries = build_catalog(deployed.house.apis, now=deployed.house.insight.clock.now())
    graph = catalog_mermaid(entries).splitlines()
    bands = [line.strip() for line in graph if line.strip().startswith("subgraph")]
    assert bands == [
        "subgraph experience[Experience layer]",
        "subgraph process[Process layer]",
        "subgraph system[System layer]",
    ]
    assert '    crm_orders["crm-orders<br/>v1, v2"]' in graph
    assert "  customer_portal -->|v2| crm_orders" in graph
    assert "  order_to_cash -->|v1| erp_sales_orders" in graph


async def test_the_catalog_command_writes_the_page_and_the_graph(tmp_path: Path) -> None:
    """`catalog --markdown --output` writes the page; `--graph` prints the Mermaid source."""
    page = tmp_path / "catalog.md"
    for args in (("--markdown", "--output", str(page)), ("--graph",)):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ledgerbridge",
            "catalog",
            *args,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, err.decode()
    assert page.read_text(encoding="utf-8").startswith("# API catalog\n")
    assert "## System APIs" in page.read_text(encoding="utf-8")
    assert out.decode().startswith("flowchart TB\n")
