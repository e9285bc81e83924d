"""Running the CRM sandbox on real sockets: plain HTTP, HTTPS, or both on one org.

    serve("127.0.0.1", 8443, tls=True, http_port=8080, database="crm.sqlite3")

Tests use `BackgroundServer` to run an app on a free port in a thread.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn
from fastapi import FastAPI

from ledgerbridge.sandboxes.crm.app import create_app
from ledgerbridge.sandboxes.crm.certificates import TLSFiles, issue_certificates


def _config(app: FastAPI, host: str, port: int, tls: TLSFiles | None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
        ssl_certfile=str(tls.server) if tls else None,
    )


def serve(
    host: str,
    port: int,
    *,
    tls: bool,
    http_port: int | None = None,
    certificate_dir: str | Path | None = None,
    **settings: Any,
) -> None:
    """Serve one sandbox org until interrupted.

    Args:
        host: the address to bind.
        port: the port of the main listener.
        tls: serve HTTPS on `port` (with a fresh CA) rather than plain HTTP.
        http_port: also serve plain HTTP here, on the same org (only with `tls`).
        certificate_dir: where to write ca.pem and server.pem; a temporary folder when None.
        **settings: passed to `create_app` (database, client_id, client_secret, ...).
    """
    app = create_app(**settings)
    configs: list[uvicorn.Config] = []
    if tls:
        folder = Path(certificate_dir or tempfile.mkdtemp(prefix="crm-sandbox-tls-"))
        files = issue_certificates(folder)
        # Clients must be told which CA to trust before they can connect.
        print(f"CRM sandbox CA certificate: {files.ca}")
        configs.append(_config(app, host, port, files))
        if http_port is not None:
            configs.append(_config(app, host, http_port, None))
    else:
        configs.append(_config(app, host, port, None))

    async def run_all() -> None:
        await asyncio.gather(*(uvicorn.Server(c).serve() for c in configs))

    asyncio.run(run_all())


class BackgroundServer:
    """An app served on a free local port from a thread, for the length of a `with` block.

    with BackgroundServer(create_app(), tls=issue_certificates(tmp)) as server:
        requests.get(server.url + "/services/data/", verify=str(server.tls.ca))
    """

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", tls: TLSFiles | None = None):
        self.app = app
        self.tls = tls
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
        # without it every keep-alive response waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.port: int = self._socket.getsockname()[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{self.port}"
        self._server = uvicorn.Server(_config(app, host, self.port, tls))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
