"""The sandbox as a program: HTTPS and plain HTTP listeners on one org."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """`python -m ledgerbridge.sandboxes.crm --tls --http-port` running; (https, http, CA)."""
    https_port, http_port = _free_port(), _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "ledgerbridge.sandboxes.crm",
            "--tls",
            "--port",
            str(https_port),
            "--http-port",
            str(http_port),
            "--certificate-dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{http_port}/services/data/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield https_port, http_port, tmp_path / "ca.pem"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_both_listeners_serve_the_same_org(served: tuple[int, int, Path]) -> None:
    """A record created over HTTPS (trusting the written CA) is readable over plain HTTP."""
    https_port, http_port, ca = served
    form = {
        "grant_type": "client_credentials",
        "client_id": "ledgerbridge",
        "client_secret": "sandbox-secret",
    }
    with httpx.Client(verify=ssl.create_default_context(cafile=ca), trust_env=False) as secure:
        token = secure.post(f"https://localhost:{https_port}/services/oauth2/token", data=form)
        assert token.json()["instance_url"] == f"https://localhost:{https_port}"
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        created = secure.post(
            f"https://localhost:{https_port}/services/data/v59.0/sobjects/Account/",
            json={"Name": "Over TLS"},
            headers=headers,
        )
    with httpx.Client(trust_env=False) as plain:
        record = plain.get(
            f"http://127.0.0.1:{http_port}/services/data/v59.0/sobjects/Account/"
            f"{created.json()['id']}",
            headers=headers,
        )
    assert record.json()["Name"] == "Over TLS"


def test_an_untrusted_client_is_refused(served: tuple[int, int, Path]) -> None:
    """Without the sandbox CA, certificate verification fails."""
    https_port, _, _ = served
    with (
        httpx.Client(trust_env=False) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(f"https://localhost:{https_port}/services/data/")
