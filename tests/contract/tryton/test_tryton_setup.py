"""The tooling that stands Tryton up: template keys, copies, and the server's failures."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.tryton_setup import (
    copy_template,
    sqlite_file,
    start_server,
    template_key,
    tryton_installed,
)


def test_template_key_changes_with_the_year() -> None:
    """A new year gets a new template, since the fiscal years follow the build year."""
    assert template_key(2026) == template_key(2026)
    assert template_key(2026) != template_key(2027)


def test_copy_replaces_a_database_and_drops_its_write_ahead_files(tmp_path: Path) -> None:
    """Copying over an old database leaves only the template's content, no stale WAL."""
    template = tmp_path / "template.sqlite"
    template.write_bytes(b"template content")
    directory = tmp_path / "db"
    directory.mkdir()
    old = sqlite_file(directory, "erp")
    old.write_bytes(b"old content")
    for suffix in ("-wal", "-shm"):
        Path(f"{old}{suffix}").write_bytes(b"old rows")
    copied = copy_template(template, directory, "erp")
    assert copied == old
    assert copied.read_bytes() == b"template content"
    assert sorted(p.name for p in directory.iterdir()) == ["erp.sqlite"]


def test_a_missing_database_is_refused_before_starting(tmp_path: Path) -> None:
    """Starting a server on a database file that does not exist raises FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        start_server(tmp_path, "nowhere")


@pytest.mark.slow
def test_a_server_that_cannot_listen_reports_its_log(tmp_path: Path) -> None:
    """trytond failing on a busy port raises BackendUnavailable with the end of its log."""
    if not tryton_installed():
        pytest.skip("Tryton is not installed: pip install -e '.[tryton]' to run this test")
    sqlite_file(tmp_path, "erp").touch()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(BackendUnavailable, match="trytond exited") as raised:
            start_server(tmp_path, "erp", port=port, timeout=60)
    assert "Address already in use" in raised.value.message
