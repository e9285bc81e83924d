"""Shared by the bench scripts: where results go and how they are printed."""

from __future__ import annotations

import json
import os
import platform
import socket
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    """A short description of the machine the figures come from."""
    python = platform.python_version()
    return f"{socket.gethostname()} {platform.machine()} {os.cpu_count()} cpu, Python {python}"


def measure(
    name: str, value: float, unit: str, baseline: str, baseline_value: float
) -> dict[str, Any]:
    """One row in the shared result format; ratio = value / baseline_value."""
    return {
        "measure": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 3),
        "ratio": round(value / baseline_value, 3) if baseline_value else None,
        "machine": machine(),
    }


def write(bench: str, rows: list[dict[str, Any]]) -> Path:
    """Print the rows as a table and save them as bench/results/<bench>.json."""
    table = Table(title=bench)
    for column in ("measure", "value", "unit", "baseline", "baseline value", "ratio"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["measure"],
            f"{row['value']:.1f}",
            row["unit"],
            row["baseline"],
            f"{row['baseline_value']:.1f}",
            f"{row['ratio']:.2f}" if row["ratio"] is not None else "-",
        )
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{bench}.json"
    path.write_text(json.dumps(rows, indent=2) + "\n")
    return path
