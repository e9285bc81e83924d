"""A ready Tryton database built once per machine, kept as a SQLite template file.

Building takes half a minute (module activation dominates); copying the template takes
milliseconds. The file name carries a key of everything the content depends on: the
installed Tryton distributions, our seed code and the year (the fiscal years cover this
year and the next), so a change of any of them builds a new template.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import importlib.metadata
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from ledgerbridge.connectors.tryton import TrytonClient
from ledgerbridge.tryton_setup import _dataset, _seed
from ledgerbridge.tryton_setup._server import TrytonServer, run_admin, sqlite_file, start_server

Progress = Callable[[int, int, str], None]
"""Told ``(steps done, steps in all, what comes next)`` while a template is built."""

_BUILD_DATABASE = "template"
_STEPS = 4 + _seed.SEED_STEPS


def template_key(year: int | None = None) -> str:
    """A short key of the installed Tryton distributions, our seed code and the year."""
    versions = sorted(
        f"{dist.metadata['Name'].lower().replace('_', '-')}=={dist.version}"
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"].lower().startswith("trytond")
    )
    digest = hashlib.sha256()
    for part in (*versions, str(year or dt.date.today().year)):
        digest.update(part.encode() + b"\0")
    for module in (_seed, _dataset):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def ensure_template(cache_dir: Path, *, progress: Progress | None = None) -> Path:
    """The template file for the installed Tryton, built into ``cache_dir`` when missing.

    Args:
        cache_dir: where templates are kept (the project keeps them under var/tryton).
        progress: told of each step when a build is needed.

    Returns:
        The path of the template (a SQLite file).
    """
    template = cache_dir / f"tryton-{template_key()}.sqlite"
    if not template.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        build_template(template, progress=progress)
        # Templates of other versions or years are never used again.
        for stale in cache_dir.glob("tryton-*.sqlite"):
            if stale != template:
                stale.unlink(missing_ok=True)
    return template


def build_template(destination: Path, *, progress: Progress | None = None) -> None:
    """Build a ready database and save it as ``destination``.

    Creates the database with trytond-admin, starts trytond on it, fills it with the
    demo data over JSON-RPC as the administrator, stops the server and folds the SQLite
    write-ahead log into the file. The file appears whole or not at all.

    Must not be called from a running event loop (it runs its own).
    """
    report = progress or _silent
    with tempfile.TemporaryDirectory(prefix="tryton-build-", dir=destination.parent) as work:
        directory = Path(work)
        report(0, _STEPS, "creating the database and activating modules")
        run_admin(
            directory,
            _BUILD_DATABASE,
            modules=_dataset.MODULES,
            admin_password=_dataset.ADMIN_PASSWORD,
            log=directory / "trytond-admin.log",
        )
        report(1, _STEPS, "starting trytond")
        with start_server(directory, _BUILD_DATABASE) as server:
            done = 2

            def seed_step(what: str) -> None:
                nonlocal done
                report(done, _STEPS, what)
                done += 1

            # A thread of its own, so a caller already inside an event loop can build too.
            with concurrent.futures.ThreadPoolExecutor(1) as worker:
                worker.submit(asyncio.run, _fill(server.base_url, seed_step)).result()
        report(_STEPS - 1, _STEPS, "saving the template")
        built = sqlite_file(directory, _BUILD_DATABASE)
        _fold_write_ahead_log(built)
        # The work directory sits beside the destination: one atomic rename.
        os.replace(built, destination)
    report(_STEPS, _STEPS, "template ready")


def copy_template(template: Path, directory: Path, database: str) -> Path:
    """Copy a template as database ``database`` of ``directory``, ready for ``start_server``.

    Returns:
        The path of the new SQLite file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = sqlite_file(directory, database)
    # Stale write-ahead files of an earlier database by that name would replay old rows.
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return target


def start_ready_server(
    cache_dir: Path, directory: Path, database: str = "erp", *, progress: Progress | None = None
) -> TrytonServer:
    """Ensure the template, copy it as ``database`` into ``directory`` and serve the copy.

    The one call the demo and the test fixtures need; stop the server with ``with`` or
    ``stop()``.
    """
    template = ensure_template(cache_dir, progress=progress)
    copy_template(template, directory, database)
    return start_server(directory, database)


async def _fill(base_url: str, step: Callable[[str], None]) -> None:
    async with TrytonClient(
        base_url=base_url,
        database=_BUILD_DATABASE,
        username=_dataset.ADMIN_LOGIN,
        password=_dataset.ADMIN_PASSWORD,
        timeout=60.0,
    ) as tryton:
        await _seed.seed(tryton, year=dt.date.today().year, step=step)
    step("checking the integration user's login")
    async with TrytonClient(
        base_url=base_url,
        database=_BUILD_DATABASE,
        username=_dataset.INTEGRATION_LOGIN,
        password=_dataset.INTEGRATION_PASSWORD,
    ) as integration:
        if not integration.context.get("company"):
            raise RuntimeError("the integration user has no company in its context")


def _fold_write_ahead_log(database: Path) -> None:
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _silent(done: int, total: int, what: str) -> None:
    """Report nothing."""
