"""Seeding a running CRM sandbox over its REST API: sObject collections of up to 200 records.

The org hands out its own ids; `ids` maps each planned id to the one the org gave, so records
that point at others (contacts at accounts, items at orders and price book entries) are sent
with the real ids. Orders are created as drafts, filled with their items and then activated,
as Salesforce requires.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ledgerbridge.sandboxes.crm import wire
from ledgerbridge.sandboxes.generator.errors import SeedingFailed, raise_for_refusal

BATCH = 200
_COUNTS = {
    "Account": "SELECT COUNT() FROM Account",
    "Product2": "SELECT COUNT() FROM Product2",
    "Order": "SELECT COUNT() FROM Order",
}


class RemoteCrm:
    """A CRM seeding target over HTTP.

    with RemoteCrm("http://127.0.0.1:8101") as sink:
        seed_crm(plan, sink)
        sink.ids  # planned id -> the org's id
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str = "ledgerbridge",
        client_secret: str = "sandbox-secret",  # noqa: S107 - the sandbox's published test secret
        api_version: str = "59.0",
        verify: ssl.SSLContext | bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, verify=verify, transport=transport, timeout=60.0
        )
        self._data = f"/services/data/v{api_version}"
        self.ids: dict[str, str] = {}
        self.written = 0
        token = self._http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )
        raise_for_refusal(token)
        self._http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        # Seeded links are only right in an org that starts empty.
        for sobject_name, soql in _COUNTS.items():
            count = self._http.get(f"{self._data}/query", params={"q": soql})
            raise_for_refusal(count)
            if count.json()["totalSize"]:
                raise SeedingFailed(
                    f"the CRM already holds {sobject_name} records; seed an empty org"
                )

    def __enter__(self) -> RemoteCrm:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def standard_pricebook(self) -> str:
        """The id of the org's Standard Price Book."""
        found = self._http.get(
            f"{self._data}/query", params={"q": "SELECT Id FROM Pricebook2 WHERE IsStandard = true"}
        )
        raise_for_refusal(found)
        return str(found.json()["records"][0]["Id"])

    def create(
        self, sobject_name: str, records: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[str]:
        """Create records in collections of 200; the org's ids, in order."""
        created: list[str] = []
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            body = [{"attributes": {"type": sobject_name}, **self._linked(f)} for _, f in chunk]
            ids = self._send("POST", body)
            for (planned, _), actual in zip(chunk, ids, strict=True):
                self.ids[planned] = actual
            created += ids
        return created

    def create_orders(
        self,
        orders: Sequence[tuple[str, Mapping[str, Any], Sequence[tuple[str, Mapping[str, Any]]]]],
    ) -> None:
        """Create draft orders, add their items, then give each order its status."""
        self.create("Order", [(o, {**f, "Status": "Draft"}) for o, f, _ in orders])
        self.create("OrderItem", [item for _, _, items in orders for item in items])
        changes = [
            {"attributes": {"type": "Order"}, "id": self.ids[o], "Status": f["Status"]}
            for o, f, _ in orders
            if f.get("Status", "Draft") != "Draft"
        ]
        for start in range(0, len(changes), BATCH):
            self._send("PATCH", changes[start : start + BATCH])

    def finish(self, last_sequence: int) -> None:
        """Nothing to complete: the org numbers its own records."""

    def _linked(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self.ids.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}

    def _send(self, method: str, records: list[dict[str, Any]]) -> list[str]:
        response = self._http.request(
            method,
            f"{self._data}/composite/sobjects",
            content=wire.dumps({"allOrNone": True, "records": records}),
            headers={"Content-Type": "application/json"},
        )
        raise_for_refusal(response)
        results = response.json()
        failed = [r for r in results if not r.get("success")]
        if failed:
            raise SeedingFailed(f"the CRM refused records: {failed[:3]}")
        self.written += len(results)
        return [str(r["id"]) for r in results]
