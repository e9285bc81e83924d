"""What authentication costs: a System API read with full JWT validation against the same read
with authentication off, in one run.

Two `ledgerbridge serve --layer system` processes stand in front of one CRM sandbox process:
one with `LEDGERBRIDGE_AUTH_MODE=jwt` (signature, iss/aud/exp/nbf/iat, scope and rate-limit
checks on every request), one with authentication off. The load comes from a separate process
(bench/_load.py) and alternates between the two, so both see the same machine. The bar: the
secured read keeps at least 80% of the open read's requests per second.

Usage: python bench/security.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

from _report import measure, write
from sandboxes import SECRET, _free_port, _load, _process

from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.runtime.security import KeyRing, TokenIssuer, new_signing_key
from ledgerbridge.runtime.settings import AuthSettings

BAR = 0.80


async def _account(crm_url: str) -> str:
    async with SalesforceClient(
        base_url=crm_url, client_id="ledgerbridge", client_secret=SECRET
    ) as crm:
        return await crm.create(
            "Account",
            {
                "Name": "Bench Capital",
                "BillingStreet": "12 Taunusanlage",
                "BillingCity": "Frankfurt am Main",
                "BillingPostalCode": "60325",
                "BillingCountry": "DE",
                "CurrencyIsoCode": "EUR",
            },
        )


def _system(port: int, crm_url: str, tmp: Path, auth: dict[str, str]) -> list[str]:
    """The command of one System layer process, its settings set through env(1)."""
    settings = {
        "LEDGERBRIDGE_SALESFORCE__BASE_URL": crm_url,
        "LEDGERBRIDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / f'store-{port}.db'}",
        "LEDGERBRIDGE_LOG_LEVEL": "WARNING",
        "LEDGERBRIDGE_OBSERVABILITY__ANALYTICS": "false",
        **auth,
    }
    return [
        "env",
        *(f"{name}={value}" for name, value in settings.items()),
        sys.executable,
        "-m",
        "ledgerbridge",
        "serve",
        "--layer",
        "system",
        "--port",
        str(port),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    args = parser.parse_args()
    seconds, rounds, concurrency = (3.0, 2, 8) if args.quick else (8.0, 3, 16)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        keys = tmp / "signing-keys.json"
        keys.write_text(json.dumps({"keys": [new_signing_key().as_dict(private=True)]}))
        keys.chmod(0o600)
        crm_port, open_port, secured_port = _free_port(), _free_port(), _free_port()
        crm_url = f"http://127.0.0.1:{crm_port}"
        crm = [sys.executable, "-m", "ledgerbridge", "sandbox", "crm"]
        with _process(
            [*crm, "--port", str(crm_port), "--database", str(tmp / "crm.db")],
            f"{crm_url}/services/data/",
        ):
            account = asyncio.run(_account(crm_url))
            path = f"/system/crm-accounts/v1/accounts/{account}"
            open_cmd = _system(open_port, crm_url, tmp, {"LEDGERBRIDGE_AUTH_MODE": "off"})
            with _process(open_cmd, f"http://127.0.0.1:{open_port}/system/crm-accounts/v1/healthz"):
                secured_cmd = _system(
                    secured_port,
                    crm_url,
                    tmp,
                    {
                        "LEDGERBRIDGE_AUTH_MODE": "jwt",
                        "LEDGERBRIDGE_AUTH__SIGNING_KEYS_FILE": str(keys),
                        # The budget is not what is measured here: far above the load.
                        "LEDGERBRIDGE_AUTH__RATE_LIMIT_BURST": "1000000",
                        "LEDGERBRIDGE_AUTH__RATE_LIMIT_PER_SECOND": "1000000",
                    },
                )
                with _process(
                    secured_cmd, f"http://127.0.0.1:{secured_port}/system/crm-accounts/v1/healthz"
                ):
                    issuer = TokenIssuer(AuthSettings().issuer, KeyRing.from_file(keys))
                    token = issuer.issue(
                        subject="bench",
                        client_id="bench",
                        audience="urn:ledgerbridge:crm-accounts",
                        scopes={"crm-accounts:read"},
                    ).token
                    bearer = {"Authorization": f"Bearer {token}"}
                    opened, secured = [], []
                    for _ in range(rounds):
                        opened.append(
                            _load(f"http://127.0.0.1:{open_port}{path}", {}, seconds, concurrency)
                        )
                        secured.append(
                            _load(
                                f"http://127.0.0.1:{secured_port}{path}",
                                bearer,
                                seconds,
                                concurrency,
                            )
                        )
    open_rps = statistics.median(r["rps"] for r in opened)
    secured_rps = statistics.median(r["rps"] for r in secured)
    rows = [
        measure(
            "system read, JWT validated",
            secured_rps,
            "requests/s",
            "same read, authentication off",
            open_rps,
        )
    ]
    write("security", rows)
    ratio = secured_rps / open_rps
    print(f"secured keeps {ratio:.0%} of the open read's throughput (bar: {BAR:.0%})")
    if ratio < BAR:
        sys.exit(1)


if __name__ == "__main__":
    main()
