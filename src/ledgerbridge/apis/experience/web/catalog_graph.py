"""The catalog drawn as a graph: one column per layer, one box per API, an arrow per call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledgerbridge.runtime.app_factory import ApiMetadata, Layer

COLUMNS = (Layer.EXPERIENCE, Layer.PROCESS, Layer.SYSTEM)
BOX_WIDTH, BOX_HEIGHT, GAP, COLUMN_GAP, MARGIN = 210, 34, 10, 140, 30


@dataclass(frozen=True, slots=True)
class Node:
    """One API (all its versions) placed on the drawing."""

    name: str
    layer: Layer
    versions: str
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Edge:
    """A declared call, as an SVG path from the caller's right side to the callee's left."""

    caller: str
    callee: str
    path: str


@dataclass(frozen=True, slots=True)
class Graph:
    """Everything a template needs to draw the catalog."""

    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int
    columns: list[tuple[str, int]]


def layout(apis: Sequence[ApiMetadata]) -> Graph:
    """Place each API in its layer's column and route an arrow for each call it declares."""
    versions: dict[str, list[int]] = {}
    layers: dict[str, Layer] = {}
    calls: dict[str, set[str]] = {}
    for meta in apis:
        versions.setdefault(meta.name, []).append(meta.version)
        layers[meta.name] = meta.layer
        calls.setdefault(meta.name, set()).update(meta.calls)
    nodes: dict[str, Node] = {}
    tallest = 0
    for column, layer in enumerate(COLUMNS):
        names = sorted(name for name, at in layers.items() if at is layer)
        for row, name in enumerate(names):
            nodes[name] = Node(
                name=name,
                layer=layer,
                versions=" ".join(f"v{v}" for v in sorted(versions[name])),
                x=MARGIN + column * (BOX_WIDTH + COLUMN_GAP),
                y=MARGIN + 20 + row * (BOX_HEIGHT + GAP),
            )
        tallest = max(tallest, len(names))
    edges = []
    for caller, callees in sorted(calls.items()):
        for callee in sorted(callees):
            if callee not in nodes or callee == caller:
                continue
            start, end = nodes[caller], nodes[callee]
            y1, y2 = start.y + BOX_HEIGHT // 2, end.y + BOX_HEIGHT // 2
            if start.layer is end.layer:
                # Within one column: a loop out to the left, from side to side.
                x = start.x
                path = f"M{x},{y1} C{x - MARGIN},{y1} {x - MARGIN},{y2} {x},{y2}"
            else:
                x1, x2 = start.x + BOX_WIDTH, end.x
                bend = (x2 - x1) // 2
                path = f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
            edges.append(Edge(caller=caller, callee=callee, path=path))
    width = 2 * MARGIN + len(COLUMNS) * BOX_WIDTH + (len(COLUMNS) - 1) * COLUMN_GAP
    height = 2 * MARGIN + 20 + tallest * (BOX_HEIGHT + GAP)
    columns = [
        (layer.value.title(), MARGIN + i * (BOX_WIDTH + COLUMN_GAP))
        for i, layer in enumerate(COLUMNS)
    ]
    return Graph(
        nodes=list(nodes.values()), edges=edges, width=width, height=height, columns=columns
    )
