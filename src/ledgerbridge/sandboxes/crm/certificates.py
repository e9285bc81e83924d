"""A throwaway certificate authority and server certificate, so the sandbox can speak HTTPS.

Clients such as simple-salesforce insist on https://; they trust the sandbox by pointing their
CA bundle at `TLSFiles.ca`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

DEFAULT_HOSTNAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TLSFiles:
    """Where the CA certificate (for clients) and the server's key and chain (for us) lie."""

    ca: Path
    server: Path


def issue_certificates(directory: Path, hostnames: tuple[str, ...] = DEFAULT_HOSTNAMES) -> TLSFiles:
    """Create a CA and a server certificate for `hostnames`, written as PEM into `directory`.

    Args:
        directory: where to write `ca.pem` and `server.pem` (key followed by chain).
        hostnames: DNS names and IP addresses the server certificate covers.

    Returns:
        The paths of both files.
    """
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA(organization_name="ledgerbridge CRM sandbox")
    leaf = authority.issue_cert(*hostnames)
    files = TLSFiles(ca=directory / "ca.pem", server=directory / "server.pem")
    authority.cert_pem.write_to_path(str(files.ca))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(files.server))
    return files
