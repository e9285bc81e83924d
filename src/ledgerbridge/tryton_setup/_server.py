"""Run ``trytond`` and ``trytond-admin`` as subprocesses on SQLite databases.

Tryton keeps module-global configuration, so it never runs inside our process: each
database directory gets its own configuration file, and the server is a child process.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from ledgerbridge.runtime.errors import BackendUnavailable

_CONFIG = """\
[database]
uri = sqlite://
path = {directory}

[web]
listen = 127.0.0.1:{port}
"""


def sqlite_file(directory: Path, database: str) -> Path:
    """Where Tryton keeps the SQLite database ``database`` of a directory."""
    return directory / f"{database}.sqlite"


def write_config(directory: Path, *, port: int = 8000) -> Path:
    """Write a trytond.conf serving the SQLite databases of ``directory`` on ``port``."""
    path = directory / "trytond.conf"
    path.write_text(_CONFIG.format(directory=directory.resolve(), port=port))
    return path


def tryton_installed() -> bool:
    """Whether trytond can run with this interpreter (the ``tryton`` extra is installed)."""
    return importlib.util.find_spec("trytond") is not None


def run_admin(
    directory: Path,
    database: str,
    *,
    modules: list[str],
    admin_password: str,
    log: Path,
) -> None:
    """Create (or update) a database and activate modules with their dependencies.

    Raises:
        RuntimeError: trytond-admin failed; the message ends with its last log lines.
    """
    config = write_config(directory)
    sqlite_file(directory, database).touch()
    passfile = directory / "admin.pass"
    passfile.write_text(admin_password)
    command = [
        sys.executable,
        "-m",
        "trytond.cli.admin",
        "-c",
        str(config),
        "-d",
        database,
        "--email",
        "admin@example.com",
        "--activate-dependencies",
        "-u",
        *modules,
    ]
    environment = {**os.environ, "TRYTONPASSFILE": str(passfile)}
    try:
        with log.open("ab") as sink:
            done = subprocess.run(  # noqa: S603  (our interpreter, fixed arguments)
                command, stdout=sink, stderr=subprocess.STDOUT, env=environment, check=False
            )
    finally:
        passfile.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"trytond-admin failed ({done.returncode}):\n{_tail(log)}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class TrytonServer:
    """A running ``trytond`` serving one SQLite database; stop it with ``stop()`` or ``with``.

    Usage::

        with start_server(directory, "erp") as server:
            async with TrytonClient(base_url=server.base_url, database=server.database, ...):
                ...
    """

    base_url: str
    database: str
    directory: Path
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait for it to exit."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def __enter__(self) -> TrytonServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    directory: Path, database: str, *, port: int | None = None, timeout: float = 60.0
) -> TrytonServer:
    """Start trytond on ``directory/<database>.sqlite`` and wait until it answers.

    The server preloads the database (``-d``): Tryton refuses logins to databases it did
    not load at start and does not notice new SQLite files for minutes.

    Args:
        directory: the folder holding the SQLite file; the config and log go there too.
        database: the database name (the file without ``.sqlite``).
        port: the port to listen on; a free one when None.
        timeout: seconds to wait for the first answer.

    Raises:
        BackendUnavailable: the server exited or did not answer in time.
    """
    if not sqlite_file(directory, database).exists():
        raise FileNotFoundError(sqlite_file(directory, database))
    port = port or free_port()
    config = write_config(directory, port=port)
    log = directory / "trytond.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(  # noqa: S603  (our interpreter, fixed arguments)
            [sys.executable, "-m", "trytond.cli", "-c", str(config), "-d", database],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = TrytonServer(
        base_url=f"http://127.0.0.1:{port}",
        database=database,
        directory=directory,
        log=log,
        process=process,
    )
    try:
        _wait_until_answering(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_answering(server: TrytonServer, timeout: float) -> None:
    probe = {"id": 0, "method": "common.server.version", "params": []}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base_url, timeout=2.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise BackendUnavailable(
                    f"trytond exited with {server.process.returncode}:\n{_tail(server.log)}",
                    backend="tryton",
                )
            try:
                if http.post("/rpc/", json=probe).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise BackendUnavailable(
        f"trytond did not answer within {timeout} s:\n{_tail(server.log)}", backend="tryton"
    )


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
