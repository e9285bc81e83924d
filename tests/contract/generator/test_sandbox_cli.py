"""`ledgerbridge sandbox` and `ledgerbridge generate` run as processes: the flags take effect."""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import httpx
import pytest
from tests.contract.generator.processes import run, sandbox

pytestmark = pytest.mark.slow

DATA = "/services/data/v59.0"
ODATA = "/sap/opu/odata/sap"
ERP_AUTH = ("LEDGERBRIDGE", "sandbox-secret")
CRM_ADMIN = ("ledgerbridge", "sandbox-secret")


def _crm_token(http: httpx.Client) -> dict[str, str]:
    token = http.post(
        "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ledgerbridge",
            "client_secret": "sandbox-secret",
        },
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.mark.parametrize(
    ("which", "path"),
    [("crm", "/services/data/"), ("erp", f"{ODATA}/API_BUSINESS_PARTNER/$metadata")],
)
def test_sandbox_answers_within_two_seconds_of_process_start(
    which: str, path: str, tmp_path: Path
) -> None:
    """From process start to the first answered request takes under two seconds."""
    with sandbox(which, "--database", str(tmp_path / f"{which}.sqlite3")) as running:
        deadline = running.started + 10
        while True:
            try:
                answer = httpx.get(running.url + path, auth=ERP_AUTH)
                break
            except httpx.TransportError:
                assert time.perf_counter() < deadline
                time.sleep(0.01)
        elapsed = time.perf_counter() - running.started
    assert answer.status_code == 200
    assert elapsed < 2.0, f"{which} answered {elapsed:.2f} s after process start"


def test_crm_fault_flag_injects_its_status_and_admin_shows_the_plan(tmp_path: Path) -> None:
    """--fault ROUTE:STATUS:RATE at rate 1 fails every matching request with that status."""
    with (
        sandbox(
            "crm",
            "--database",
            str(tmp_path / "crm.sqlite3"),
            "--fault",
            f"{DATA}/limits:503:1.0",
        ) as running,
        httpx.Client(base_url=running.url) as http,
    ):
        headers = _crm_token(http)
        failed = http.get(f"{DATA}/limits", headers=headers)
        other = http.get(f"{DATA}/sobjects", headers=headers)
        plan = http.get("/sandbox/admin/faults", auth=CRM_ADMIN).json()
    assert failed.status_code == 503
    assert failed.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert failed.headers["Retry-After"] == "1"
    assert other.status_code == 200
    assert plan["plan"]["rules"][0]["route"] == f"{DATA}/limits"
    assert plan["injected"] == {"503": 1}


def test_erp_fault_flag_injects_sap_errors(tmp_path: Path) -> None:
    """An ERP --fault answers matching OData requests with that status in SAP's error body."""
    with (
        sandbox(
            "erp", "--database", str(tmp_path / "erp.sqlite3"), "--fault", f"{ODATA}/*:500:1"
        ) as running,
        httpx.Client(base_url=running.url, auth=ERP_AUTH) as http,
    ):
        failed = http.get(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder?$format=json")
    assert failed.status_code == 500
    assert "error" in failed.json()


def test_same_fault_seed_replays_the_same_faults(tmp_path: Path) -> None:
    """Two processes with one --fault-seed fail the same requests; another seed differs."""

    def statuses(seed: str, name: str) -> list[int]:
        with (
            sandbox(
                "erp",
                "--database",
                str(tmp_path / name),
                "--fault",
                f"{ODATA}/*:503:0.5",
                "--fault-seed",
                seed,
            ) as running,
            httpx.Client(base_url=running.url, auth=ERP_AUTH) as http,
        ):
            url = f"{ODATA}/API_PRODUCT_SRV/A_Product?$format=json"
            return [http.get(url).status_code for _ in range(24)]

    first, again, other = statuses("5", "a.db"), statuses("5", "b.db"), statuses("6", "c.db")
    assert first == again
    assert set(first) == {200, 503}
    assert first != other


def test_latency_and_outage_flags(tmp_path: Path) -> None:
    """--latency-ms delays every answer; --outage 0:60 answers 503 from the start."""
    with (
        sandbox("crm", "--database", str(tmp_path / "a.sqlite3"), "--latency-ms", "400") as running,
        httpx.Client(base_url=running.url) as http,
    ):
        begun = time.perf_counter()
        answer = http.get("/services/data/")
        delayed = time.perf_counter() - begun
    assert answer.status_code == 200
    assert delayed >= 0.4
    with (
        sandbox("erp", "--database", str(tmp_path / "b.sqlite3"), "--outage", "0:60") as running,
        httpx.Client(base_url=running.url, auth=ERP_AUTH) as http,
    ):
        down = http.get(f"{ODATA}/API_PRODUCT_SRV/A_Product?$format=json")
        later = http.get("/sandbox/admin/faults").json()
    assert down.status_code == 503
    assert later["injected"] == {"outage": 1}


def test_daily_limit_flag_spends_the_quota(tmp_path: Path) -> None:
    """--daily-limit N answers REQUEST_LIMIT_EXCEEDED once N API requests are spent."""
    with (
        sandbox("crm", "--database", str(tmp_path / "crm.sqlite3"), "--daily-limit", "3") as run_,
        httpx.Client(base_url=run_.url) as http,
    ):
        headers = _crm_token(http)
        answers = [http.get(f"{DATA}/limits", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert answers[3].status_code == 403
    assert answers[3].json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_tls_flag_serves_https_with_the_printed_ca(tmp_path: Path) -> None:
    """--tls serves HTTPS; clients trusting the announced CA file get answers."""
    with sandbox("crm", "--database", str(tmp_path / "crm.sqlite3"), "--tls") as running:
        ca = next(line.split(": ", 1)[1] for line in running.lines if "CA certificate" in line)
        answer = httpx.get(
            running.url + "/services/data/", verify=ssl.create_default_context(cafile=ca)
        )
    assert running.url.startswith("https://")
    assert answer.status_code == 200


def test_delivery_delay_flag_delivers_seeded_open_orders(tmp_path: Path) -> None:
    """With --delivery-delay 0 the ERP delivers its open orders by itself; without, it does not."""
    query = (
        f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder/$count?$filter=OverallTotalDeliveryStatus eq 'A'"
    )

    def undelivered(*flags: str, name: str) -> int:
        with (
            sandbox("erp", "--database", str(tmp_path / name), "--generate", "10", *flags) as run_,
            httpx.Client(base_url=run_.url, auth=ERP_AUTH) as http,
        ):
            return int(http.get(query).text)

    assert undelivered(name="a.db") == 10
    assert undelivered("--delivery-delay", "0", name="b.db") == 0


def test_generated_sandboxes_in_two_processes_link_up(tmp_path: Path) -> None:
    """`sandbox crm|erp --generate N --scenario mismatched` seed linked data and a manifest."""
    flags = ("--generate", "20", "--scenario", "mismatched", "--seed", "3")
    manifest = tmp_path / "manifest.json"
    with (
        sandbox(
            "crm", "--database", str(tmp_path / "crm.db"), *flags, "--manifest", str(manifest)
        ) as crm,
        sandbox("erp", "--database", str(tmp_path / "erp.db"), *flags) as erp,
        httpx.Client(base_url=crm.url) as crm_http,
        httpx.Client(base_url=erp.url, auth=ERP_AUTH) as erp_http,
    ):
        soql = "SELECT Id, ERP_Customer_Id__c FROM Account WHERE ERP_Customer_Id__c != null"
        accounts = crm_http.get(
            f"{DATA}/query", params={"q": soql}, headers=_crm_token(crm_http)
        ).json()["records"]
        partners = erp_http.get(
            f"{ODATA}/API_BUSINESS_PARTNER/A_BusinessPartner?$format=json&$top=100"
        ).json()["d"]["results"]
    assert any("seeded" in line for line in crm.lines)
    written = json.loads(manifest.read_text())
    missing = {m["erp_ids"][0] for m in written["mismatches"] if m["class"] == "missing_in_crm"}
    linked = {p["BusinessPartner"]: p["BusinessPartnerIDByExtSystem"] for p in partners}
    assert {a["ERP_Customer_Id__c"] for a in accounts} == set(linked) - missing
    for account in accounts:
        assert account["Id"] == linked[account["ERP_Customer_Id__c"]] or any(
            m["class"] == "duplicate" and m["erp_ids"] == [account["ERP_Customer_Id__c"]]
            for m in written["mismatches"]
        )


def test_generate_command_seeds_running_sandboxes(tmp_path: Path) -> None:
    """`ledgerbridge generate --crm URL --erp URL` fills running sandboxes and writes a manifest."""
    manifest = tmp_path / "manifest.json"
    with (
        sandbox("crm", "--database", str(tmp_path / "crm.db")) as crm,
        sandbox("erp", "--database", str(tmp_path / "erp.db")) as erp,
    ):
        done = run(
            "generate",
            "--crm",
            crm.url,
            "--erp",
            erp.url,
            "--customers",
            "12",
            "--scenario",
            "mismatched",
            "--manifest",
            str(manifest),
        )
        with httpx.Client(base_url=erp.url, auth=ERP_AUTH) as http:
            invoices = int(
                http.get(f"{ODATA}/API_BILLING_DOCUMENT_SRV/A_BillingDocument/$count").text
            )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "records/s" in done.stdout
    assert invoices == json.loads(manifest.read_text())["counts"]["erp_invoices"]


def test_bad_flag_values_are_refused_naming_the_flag(tmp_path: Path) -> None:
    """A malformed --fault or --outage, or a flag of the other sandbox, exits 2 saying why."""
    bad_fault = run("sandbox", "crm", "--database", str(tmp_path / "a.db"), "--fault", "oops")
    bad_outage = run("sandbox", "erp", "--database", str(tmp_path / "b.db"), "--outage", "x")
    wrong_side = run("sandbox", "erp", "--database", str(tmp_path / "c.db"), "--tls")
    assert bad_fault.returncode == 2
    assert "--fault 'oops'" in bad_fault.stdout
    assert bad_outage.returncode == 2
    assert "--outage 'x'" in bad_outage.stdout
    assert wrong_side.returncode == 2
    assert "CRM sandbox's" in wrong_side.stdout
