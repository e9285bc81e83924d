"""Running `ledgerbridge` as a subprocess, as a user would, and finding where it listens."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

CLI = [sys.executable, "-m", "ledgerbridge"]


@dataclass
class Running:
    """A started sandbox process: its URL, what it printed, when it was started."""

    url: str
    started: float
    lines: list[str] = field(default_factory=list)


def _reader(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line.rstrip("\n"))


@contextmanager
def sandbox(*args: str, timeout: float = 30.0) -> Iterator[Running]:
    """Start `ledgerbridge sandbox ARGS` and yield once it has said where it listens."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own CLI with arguments built by the tests
        [*CLI, "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    printed: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no URL announced; printed: {printed}") from None
            printed.append(line)
            found = re.search(r"sandbox at (https?://\S+)", line)
            if found:
                break
        yield Running(found.group(1), started, printed)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def run(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run `ledgerbridge ARGS` to completion."""
    return subprocess.run(  # noqa: S603 - our own CLI with arguments built by the tests
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
