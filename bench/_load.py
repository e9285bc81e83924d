"""Load generator, run as its own process: N concurrent keep-alive clients for a fixed time.

Uses wrk (Debian package `wrk`) when it is installed, else an asyncio httpx client; the tool
used is reported, since their ceilings differ. Prints one JSON object: tool, requests, errors,
seconds, rps, p50_ms, p99_ms.
Usage: python bench/_load.py URL --seconds 5 --concurrency 16 [--header 'K: V' ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import time

import httpx


async def _worker(
    client: httpx.AsyncClient, url: str, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        response = await client.get(url)
        latencies.append(time.perf_counter() - started)
        if response.status_code >= 400:
            errors.append(response.status_code)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)$", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {percentile}% latency in wrk output:\n{text}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def with_wrk(wrk: str, url: str, seconds: float, concurrency: int, headers: list[str]) -> None:
    command = [wrk, "--latency", "-t", "1", "-c", str(concurrency), "-d", f"{seconds:g}s"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(
        json.dumps(
            {
                "tool": "wrk",
                "requests": requests,
                "errors": int(non_2xx.group(1)) if non_2xx else 0,
                "seconds": seconds,
                "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
                "p50_ms": _wrk_ms(out, "50"),
                "p99_ms": _wrk_ms(out, "99"),
            }
        )
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    if wrk := shutil.which("wrk"):
        with_wrk(wrk, args.url, args.seconds, args.concurrency, args.header)
        return
    headers = dict(h.split(": ", 1) for h in args.header)
    latencies: list[float] = []
    errors: list[int] = []
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        await client.get(args.url)  # warm up the connection and the server's caches
        started = time.perf_counter()
        deadline = started + args.seconds
        await asyncio.gather(
            *(
                _worker(client, args.url, deadline, latencies, errors)
                for _ in range(args.concurrency)
            )
        )
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    print(
        json.dumps(
            {
                "tool": "httpx",
                "requests": len(latencies),
                "errors": len(errors),
                "seconds": elapsed,
                "rps": len(latencies) / elapsed,
                "p50_ms": statistics.median(ordered) * 1000,
                "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
