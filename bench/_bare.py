"""The baseline server: a bare ASGI app answering every GET with one fixed JSON body.

Usage: python bench/_bare.py --port N --body-file F
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn


def make_app(body: bytes) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.body_file.read_bytes()), host="127.0.0.1", port=args.port, log_level="warning"
    )
