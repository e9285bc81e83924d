"""Authentication on, one process per layer: the deployment the security docs describe.

The CRM and ERP sandboxes, the System, Process and Experience layers each run as their own
`ledgerbridge` process with `LEDGERBRIDGE_AUTH_MODE=jwt`, all reading the same signing-key,
clients and nonce-secret settings. Each process runs its own token service; a token one
issues is honoured by the others, every hop between processes trades the caller's token for
one to the API called (RFC 8693), and the Process layer's workers, with no caller, use tokens
of their own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.runtime.security import DpopKey, KeyRing, TokenIssuer, new_signing_key
from tests.e2e.conftest import _backend_clients, _processes
from tests.e2e.test_order_to_cash import _crm_order
from tests.integration.security.reference import ISSUER, PREFIX, SECRET, _clients

O2C = "/process/order-to-cash/v1/orders"
PORTAL = "/experience/customer-portal/v1/orders"

pytestmark = pytest.mark.slow


@dataclass
class SecuredLayers:
    urls: dict[str, str]
    users: TokenIssuer
    crm: SalesforceClient
    erp: S4HanaClient


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredLayers]:
    tmp = tmp_path_factory.mktemp("secured")
    keys_file = tmp / "signing-keys.json"
    keys_file.write_text(json.dumps({"keys": [new_signing_key().as_dict(private=True)]}))
    clients_file = tmp / "clients.json"
    clients_file.write_text(json.dumps(_clients({"partner-7": DpopKey.generate()})))
    auth = {
        "LEDGERBRIDGE_AUTH_MODE": "jwt",
        "LEDGERBRIDGE_AUTH__SIGNING_KEYS_FILE": str(keys_file),
        "LEDGERBRIDGE_AUTH__CLIENTS_FILE": str(clients_file),
        "LEDGERBRIDGE_AUTH__NONCE_SECRET": secrets.token_hex(32),
        "LEDGERBRIDGE_PROCESS__ADVANCE_INTERVAL": "0.2",
    }
    with _processes(tmp, extra_env=auth) as urls:
        crm, erp = _backend_clients(urls["crm"], urls["erp"])
        yield SecuredLayers(
            urls=urls,
            users=TokenIssuer(ISSUER, KeyRing.from_file(keys_file)),
            crm=crm,
            erp=erp,
        )


async def _client_token(url: str, scope: str) -> str:
    """Client credentials for the back office, at the token service of the process at ``url``."""
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "back-office",
                "client_secret": SECRET,
                "scope": scope,
            },
        )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _customer(layers: SecuredLayers, account: str) -> dict[str, str]:
    """A signed-in customer's token for the portal, as the sign-in would give it."""
    token = layers.users.issue(
        subject=f"customer-{account}",
        client_id="sign-in",
        audience=f"{PREFIX}customer-portal",
        scopes={"customer-portal:read"},
        extra={"customer_id": account},
    ).token
    return {"Authorization": f"Bearer {token}"}


async def test_an_order_goes_through_secured_layer_processes(secured: SecuredLayers) -> None:
    """A back-office token issued by the Experience process starts order-to-cash at the
    Process process, whose hops reach the System process with exchanged tokens; its worker
    moves the case on after billing; the customer's portal shows the order and another
    customer gets 404; no token, or one for another API, is a 401."""
    ids = await _crm_order(secured)  # type: ignore[arg-type]
    token = await _client_token(
        secured.urls["experience"], "order-to-cash:write order-to-cash:read"
    )
    bearer = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=secured.urls["process"], timeout=30) as process,
        httpx.AsyncClient(base_url=secured.urls["experience"], timeout=30) as experience,
        httpx.AsyncClient(
            base_url=secured.urls["erp"], auth=("LEDGERBRIDGE", "sandbox-secret")
        ) as erp_admin,
    ):
        assert (await process.post(O2C, json={"crm_order_id": ids["order"]})).status_code == 401
        started = await process.post(O2C, json={"crm_order_id": ids["order"]}, headers=bearer)
        assert started.status_code == 201, started.text
        case = started.json()
        assert case["status"] == "in_erp"
        crm_order = await secured.crm.get("Order", ids["order"])
        assert crm_order.fields["ERP_Order_Number__c"] == case["erp_order_number"]

        # The worker, with tokens of its own, takes the case on once the ERP bills it.
        number = case["erp_order_number"]
        delivered = await erp_admin.post(f"/sandbox/admin/sales-orders/{number}/deliver")
        assert delivered.is_success, delivered.text
        assert (await erp_admin.post("/sandbox/admin/billing-run")).is_success
        for _ in range(150):
            moved = (await process.get(f"{O2C}/{ids['order']}", headers=bearer)).json()
            if moved["state"] == "invoice_sent":
                break
            await asyncio.sleep(0.2)
        assert moved["state"] == "invoice_sent", moved

        own = await experience.get(
            f"{PORTAL}/{ids['order']}/status", headers=_customer(secured, ids["account"])
        )
        assert own.status_code == 200, own.text
        assert own.json()["erp_order_number"] == case["erp_order_number"]
        other = await experience.get(
            f"{PORTAL}/{ids['order']}/status", headers=_customer(secured, "001000000000999AAA")
        )
        assert other.status_code == 404, other.text
        wrong_audience = await experience.get(f"{PORTAL}/{ids['order']}/status", headers=bearer)
        assert wrong_audience.status_code == 401, wrong_audience.text
