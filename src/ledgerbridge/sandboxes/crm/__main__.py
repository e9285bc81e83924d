"""Run the CRM sandbox: `python -m ledgerbridge.sandboxes.crm --tls --port 8443`."""

from __future__ import annotations

import argparse

from ledgerbridge.sandboxes.crm.server import serve


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m ledgerbridge.sandboxes.crm",
        description="A Salesforce-compatible CRM sandbox.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a fresh CA")
    parser.add_argument("--http-port", type=int, help="with --tls, also serve plain HTTP here")
    parser.add_argument("--certificate-dir", help="where to write ca.pem and server.pem")
    parser.add_argument("--database", default=":memory:", help="SQLite file of the org")
    parser.add_argument("--client-id", default="ledgerbridge")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument("--daily-request-limit", type=int, default=15000)
    args = parser.parse_args(argv)
    serve(
        args.host,
        args.port,
        tls=args.tls,
        http_port=args.http_port,
        certificate_dir=args.certificate_dir,
        database=args.database,
        client_id=args.client_id,
        client_secret=args.client_secret,
        daily_request_limit=args.daily_request_limit,
    )


if __name__ == "__main__":
    main()
