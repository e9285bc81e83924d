"""Customer onboarding and two-way sync against the sandboxes over HTTP, on SQLite and
PostgreSQL: one ERP customer per account, changes flowing from the side that masters a
field, conflicts queued and resolved, bad input refused naming the field."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.bootstrap import open_house
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp

ONBOARDING = "/process/customer-onboarding/v1"
PARTNERS = ("API_BUSINESS_PARTNER", "A_BusinessPartner")
ADDRESSES = ("API_BUSINESS_PARTNER", "A_BusinessPartnerAddress")


@dataclass
class House:
    """The house over both sandboxes, and direct clients playing people editing each side."""

    http: httpx.AsyncClient
    crm: SalesforceClient
    erp: S4HanaClient

    async def account(self) -> str:
        """A new CRM account with a billing address."""
        return await self.crm.create(
            "Account",
            {
                "Name": f"Quayside Trust {uuid.uuid4().hex[:6]}",
                "BillingStreet": "3 Quayside",
                "BillingCity": "Bremen",
                "BillingPostalCode": "28195",
                "BillingCountry": "DE",
                "CurrencyIsoCode": "EUR",
            },
        )

    async def onboard(self, account: str, **headers: str) -> httpx.Response:
        return await self.http.post(
            f"{ONBOARDING}/customers", json={"crm_account_id": account}, headers=headers
        )

    async def sync(self, account: str) -> dict[str, dict[str, Any]]:
        """Sync one customer; its field outcomes by field name."""
        response = await self.http.post(f"{ONBOARDING}/customers/{account}/sync")
        assert response.status_code == 200, response.text
        return {f["field"]: f for f in response.json()["fields"]}

    async def crm_party(self, account: str) -> dict[str, Any]:
        return dict((await self.http.get(f"/system/crm-accounts/v1/accounts/{account}")).json())

    async def erp_party(self, erp_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/system/erp-customers/v1/customers/{erp_id}")
        return dict(response.json())

    async def move_erp_address(self, erp_id: str, city: str) -> None:
        """Someone in finance changes the customer's billing city in the ERP."""
        (address,) = await self.erp.query(*ADDRESSES, filter=f"BusinessPartner eq '{erp_id}'")
        key = {"BusinessPartner": erp_id, "AddressID": address.properties["AddressID"]}
        await self.erp.update(*ADDRESSES, key, {"CityName": city}, etag=None)


@pytest.fixture
async def house(database_url: str, tmp_path: Path) -> AsyncIterator[House]:
    """The System and Process layers over fresh sandboxes, workers off, on each database."""
    async with contextlib.AsyncExitStack() as stack:
        crm_url = await stack.enter_async_context(
            serving(create_crm(database=str(tmp_path / "crm.sqlite3")))
        )
        erp_url = await stack.enter_async_context(
            serving(create_erp(database=str(tmp_path / "erp.sqlite3")))
        )
        settings = Settings(
            database_url=database_url,
            salesforce={"base_url": crm_url},
            s4hana={"base_url": f"{erp_url}/sap/opu/odata/sap"},
            process={"workers": False},
        )
        opened = await stack.enter_async_context(
            open_house(settings, layers={Layer.SYSTEM, Layer.PROCESS})
        )
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=opened.app), base_url="http://house"
        )
        crm = SalesforceClient(
            base_url=crm_url,
            client_id=settings.salesforce.client_id,
            client_secret=settings.salesforce.client_secret.get_secret_value(),
        )
        erp = S4HanaClient(
            base_url=settings.s4hana.base_url,
            username=settings.s4hana.username,
            password=settings.s4hana.password.get_secret_value(),
        )
        for client in (http, crm, erp):
            stack.push_async_callback(client.aclose)
        yield House(http=http, crm=crm, erp=erp)


async def _onboarded(house: House) -> tuple[str, str]:
    account = await house.account()
    response = await house.onboard(account)
    assert response.status_code == 201, response.text
    return account, str(response.json()["erp_id"])


async def test_onboarding_twice_creates_exactly_one_erp_customer(house: House) -> None:
    """Two concurrent onboardings and a later repeat make one ERP customer, linked in the
    crosswalk and written back to the CRM account."""
    account = await house.account()
    first, second = await asyncio.gather(
        house.onboard(account, **{"Idempotency-Key": '"onboard-1"'}), house.onboard(account)
    )
    again = await house.onboard(account)

    assert sorted([first.status_code, second.status_code]) in ([200, 201], [201, 201])
    assert again.status_code == 200
    erp_ids = {r.json()["erp_id"] for r in (first, second, again)}
    assert len(erp_ids) == 1
    partners = await house.erp.query(
        *PARTNERS, filter=f"BusinessPartnerIDByExtSystem eq '{account}'"
    )
    assert [p.properties["BusinessPartner"] for p in partners] == list(erp_ids)
    crm_party = await house.crm_party(account)
    assert crm_party["erp_id"] in erp_ids
    assert again.json()["canonical_id"] == first.json()["canonical_id"]


async def test_an_erp_change_of_an_erp_mastered_field_syncs_to_the_crm(house: House) -> None:
    """The ERP masters the billing address: its change is written to the CRM account."""
    account, erp_id = await _onboarded(house)
    await house.move_erp_address(erp_id, "Hamburg")

    fields = await house.sync(account)

    assert fields["billing_address"]["outcome"] == "to_crm"
    assert fields["name"]["outcome"] == "unchanged"
    assert (await house.crm_party(account))["billing_address"]["city"] == "Hamburg"
    assert (await house.sync(account))["billing_address"]["outcome"] == "unchanged"


async def test_a_crm_change_of_a_crm_mastered_field_syncs_to_the_erp(house: House) -> None:
    """The CRM masters the name: its change is written to the ERP customer."""
    account, erp_id = await _onboarded(house)
    await house.crm.update("Account", account, {"Name": "Quayside Trust AG"})

    fields = await house.sync(account)

    assert fields["name"]["outcome"] == "to_erp"
    assert (await house.erp_party(erp_id))["name"] == "Quayside Trust AG"
    assert (await house.crm_party(account))["name"] == "Quayside Trust AG"
    assert (await house.sync(account))["name"]["outcome"] == "unchanged"


async def test_resolving_a_conflict_for_the_crm_writes_the_crm_value_to_the_erp(
    house: House,
) -> None:
    """A CRM-side change of the ERP-mastered address is queued; resolving it for the CRM
    writes the CRM's address to the ERP customer, and the next sync finds both agreeing."""
    account, erp_id = await _onboarded(house)
    await house.crm.update("Account", account, {"BillingCity": "Kiel"})
    fields = await house.sync(account)
    conflict_id = fields["billing_address"]["conflict_id"]

    resolved = await house.http.post(
        f"{ONBOARDING}/conflicts/{conflict_id}/resolution",
        json={"side": "crm", "actor": "master-data@bank.example", "note": "sales is right"},
    )

    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["chosen_side"] == "crm"
    assert (await house.erp_party(erp_id))["billing_address"]["city"] == "Kiel"
    assert (await house.crm_party(account))["billing_address"]["city"] == "Kiel"
    assert (await house.sync(account))["billing_address"]["outcome"] == "unchanged"


async def test_a_concurrent_change_is_queued_and_resolving_applies_the_chosen_side(
    house: House,
) -> None:
    """Both sides change the billing address: the sync queues one conflict and overwrites
    neither; resolving it for the ERP writes the ERP's address to the CRM."""
    account, erp_id = await _onboarded(house)
    await house.move_erp_address(erp_id, "Hamburg")
    await house.crm.update("Account", account, {"BillingCity": "Kiel"})

    fields = await house.sync(account)
    assert fields["billing_address"]["outcome"] == "conflict"
    assert (await house.sync(account))["billing_address"]["conflict_id"] == fields[
        "billing_address"
    ]["conflict_id"]
    assert (await house.crm_party(account))["billing_address"]["city"] == "Kiel"
    assert (await house.erp_party(erp_id))["billing_address"]["city"] == "Hamburg"
    queue = (await house.http.get(f"{ONBOARDING}/conflicts")).json()["items"]
    (conflict,) = [c for c in queue if c["crm_id"] == account]
    assert conflict["kind"] == "both_changed"
    assert conflict["master"] == "erp"
    assert (conflict["crm_value"]["city"], conflict["erp_value"]["city"]) == ("Kiel", "Hamburg")
    assert conflict["base_value"]["city"] == "Bremen"

    resolved = await house.http.post(
        f"{ONBOARDING}/conflicts/{conflict['conflict_id']}/resolution",
        json={"side": "erp", "actor": "master-data@bank.example", "note": "finance is right"},
    )

    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["chosen_side"] == "erp"
    assert (await house.crm_party(account))["billing_address"]["city"] == "Hamburg"
    assert (await house.http.get(f"{ONBOARDING}/conflicts")).json()["items"] == []
    assert (await house.sync(account))["billing_address"]["outcome"] == "unchanged"
    repeat = await house.http.post(
        f"{ONBOARDING}/conflicts/{conflict['conflict_id']}/resolution",
        json={"side": "erp", "actor": "master-data@bank.example"},
    )
    assert repeat.status_code == 409


async def test_a_change_on_the_side_that_does_not_master_the_field_is_queued(
    house: House,
) -> None:
    """A CRM-side change of the ERP-mastered address is queued, not written and not undone."""
    account, erp_id = await _onboarded(house)
    await house.crm.update("Account", account, {"BillingCity": "Kiel"})

    fields = await house.sync(account)

    assert fields["billing_address"]["outcome"] == "conflict"
    queue = (await house.http.get(f"{ONBOARDING}/conflicts")).json()["items"]
    assert [(c["crm_id"], c["kind"]) for c in queue] == [(account, "not_master")]
    assert (await house.crm_party(account))["billing_address"]["city"] == "Kiel"
    assert (await house.erp_party(erp_id))["billing_address"]["city"] == "Bremen"


async def test_bad_input_is_a_problem_naming_the_field(house: House) -> None:
    """Malformed ids and sides are refused with problem+json naming the field; nothing is
    onboarded."""
    bad_id = await house.onboard("not-a-crm-id")
    assert bad_id.status_code == 422
    assert bad_id.headers["content-type"].startswith("application/problem+json")
    assert "crm_account_id" in bad_id.text
    account, _ = await _onboarded(house)
    await house.crm.update("Account", account, {"BillingCity": "Kiel"})
    (await house.sync(account))
    (conflict,) = (await house.http.get(f"{ONBOARDING}/conflicts")).json()["items"]
    bad_side = await house.http.post(
        f"{ONBOARDING}/conflicts/{conflict['conflict_id']}/resolution",
        json={"side": "both", "actor": "someone"},
    )
    assert bad_side.status_code == 422
    assert "side" in bad_side.text
    unknown = await house.http.post(f"{ONBOARDING}/customers/001000000000999AAA/sync")
    assert unknown.status_code == 404
