"""Seeding running sandboxes over real HTTP, as `ledgerbridge generate` does."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from ledgerbridge.sandboxes.crm import BackgroundServer
from ledgerbridge.sandboxes.crm import create_app as create_crm
from ledgerbridge.sandboxes.erp import create_app as create_erp
from ledgerbridge.sandboxes.generator import Scenario, Sizes, make_plan
from ledgerbridge.sandboxes.generator.crm_remote import RemoteCrm
from ledgerbridge.sandboxes.generator.erp_remote import RemoteErp
from ledgerbridge.sandboxes.generator.errors import SeedingFailed
from ledgerbridge.sandboxes.generator.running import seed_running
from ledgerbridge.sandboxes.generator.seeding import Unexpected

DATA = "/services/data/v59.0"
ODATA = "/sap/opu/odata/sap"


def _crm_records(url: str, soql: str) -> list[dict[str, object]]:
    with httpx.Client(base_url=url) as http:
        token = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "ledgerbridge",
                "client_secret": "sandbox-secret",
            },
        ).json()["access_token"]
        body = http.get(
            f"{DATA}/query", params={"q": soql}, headers={"Authorization": f"Bearer {token}"}
        ).json()
        records: list[dict[str, object]] = body["records"]
        return records


def _erp_rows(url: str, path: str) -> list[dict[str, str]]:
    with httpx.Client(base_url=url, auth=("LEDGERBRIDGE", "sandbox-secret")) as http:
        rows: list[dict[str, str]] = http.get(f"{ODATA}/{path}&$format=json").json()["d"]["results"]
        return rows


def test_running_sandboxes_are_seeded_and_linked_with_the_orgs_own_ids() -> None:
    """Over HTTP the CRM gives its own ids, and the ERP and the manifest carry those ids."""
    plan = make_plan(seed=21, sizes=Sizes(customers=10), scenario=Scenario.MISMATCHED)
    with (
        BackgroundServer(create_crm()) as crm_server,
        BackgroundServer(create_erp()) as erp_server,
        RemoteCrm(crm_server.url) as crm,
        RemoteErp(erp_server.url) as erp,
    ):
        written, seeded = seed_running(plan, crm=crm, erp=erp)
        assert seeded.crm_records > 0
        assert seeded.erp_records > 0
        accounts = _crm_records(crm_server.url, "SELECT Id, ERP_Customer_Id__c FROM Account")
        orders = _crm_records(crm_server.url, "SELECT Id, TotalAmount, Status FROM Order")
        partners = _erp_rows(erp_server.url, "API_BUSINESS_PARTNER/A_BusinessPartner?$top=100")
        sales = _erp_rows(erp_server.url, "API_SALES_ORDER_SRV/A_SalesOrder?$top=500")

    account_ids = {str(a["Id"]) for a in accounts}
    assert not account_ids & {c.crm_id for c in plan.customers}  # the org's ids, not planned
    linked = {p["BusinessPartnerIDByExtSystem"]: p["BusinessPartner"] for p in partners}
    for account in accounts:
        if account["Id"] in linked:
            assert linked[str(account["Id"])] == account["ERP_Customer_Id__c"]
    crm_orders = {str(o["Id"]): o for o in orders}
    assert all(o["Status"] == "Activated" for o in orders)
    for mismatch in written.mismatches:
        if mismatch.entity == "order" and mismatch.kind == "missing_in_erp":
            assert mismatch.crm_id in crm_orders
            assert all(s["PurchaseOrderByCustomer"] != mismatch.crm_id for s in sales)
        if mismatch.entity == "order" and mismatch.kind == "amount_mismatch":
            sale = next(s for s in sales if s["PurchaseOrderByCustomer"] == mismatch.crm_id)
            crm_total = Decimal(str(crm_orders[mismatch.crm_id or ""]["TotalAmount"]))
            assert (crm_total, Decimal(sale["TotalNetAmount"])) == (
                Decimal(mismatch.crm_value or ""),
                Decimal(mismatch.erp_value or ""),
            )


def test_seeding_a_running_erp_that_holds_data_is_refused() -> None:
    """An ERP that numbers otherwise than planned (it holds data) stops the seeding, saying so."""
    plan = make_plan(seed=22, sizes=Sizes(customers=2))
    with BackgroundServer(create_erp()) as erp_server, RemoteErp(erp_server.url) as erp:
        erp.create(
            "API_BUSINESS_PARTNER",
            "A_BusinessPartner",
            {"BusinessPartnerCategory": "2", "OrganizationBPName1": "Already There"},
        )
        with pytest.raises(Unexpected, match="seed an empty ERP"):
            seed_running(plan, erp=erp)


def test_seeding_a_running_crm_that_holds_data_is_refused() -> None:
    """A CRM org that already holds accounts is refused before anything is written."""
    with BackgroundServer(create_crm()) as crm_server:
        plan = make_plan(seed=23, sizes=Sizes(customers=2))
        with RemoteCrm(crm_server.url) as crm:
            seed_running(plan, crm=crm)
        with pytest.raises(SeedingFailed, match="already holds Account records"):
            RemoteCrm(crm_server.url)
