"""Conformance: the unmodified simple-salesforce client against the sandbox over HTTPS."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from ledgerbridge.sandboxes.crm import BackgroundServer, TLSFiles, create_app, issue_certificates

pytestmark = pytest.mark.slow


class SandboxAdapter(HTTPAdapter):
    """Sends requests meant for *.salesforce.com to the sandbox; others pass through."""

    def __init__(self, sandbox_url: str) -> None:
        super().__init__()
        self._netloc = urlsplit(sandbox_url).netloc

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Rewrite the host of Salesforce login URLs before sending."""
        parts = urlsplit(request.url or "")
        if (parts.hostname or "").endswith(".salesforce.com"):
            request.url = urlunsplit(parts._replace(netloc=self._netloc))
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A CA and a server certificate for localhost and 127.0.0.1."""
    return issue_certificates(tmp_path_factory.mktemp("crm-tls"))


@pytest.fixture
def server(tls_files: TLSFiles) -> Iterator[BackgroundServer]:
    """A fresh sandbox org on HTTPS on a free port."""
    app = create_app(username="ops@example.com", password="pw", security_token="TOKEN")
    with BackgroundServer(app, tls=tls_files) as running:
        yield running


@pytest.fixture
def session(server: BackgroundServer, tls_files: TLSFiles) -> Iterator[requests.Session]:
    """A requests session trusting the sandbox CA and routing Salesforce hosts to it."""
    with requests.Session() as session:
        # This machine sets REQUESTS_CA_BUNDLE, which would override `verify`.
        session.trust_env = False
        session.verify = str(tls_files.ca)
        session.mount("https://", SandboxAdapter(server.url))
        yield session


@pytest.fixture
def sf(session: requests.Session) -> Salesforce:
    """simple-salesforce logged in with the OAuth password grant."""
    return Salesforce(
        username="ops@example.com",
        password="pw",
        consumer_key="ledgerbridge",
        consumer_secret="sandbox-secret",
        session=session,
        version="59.0",
    )


def test_soap_login_with_security_token(
    server: BackgroundServer, session: requests.Session
) -> None:
    """The SOAP partner login yields a session on the sandbox's instance."""
    sf = Salesforce(
        username="ops@example.com",
        password="pw",
        security_token="TOKEN",
        session=session,
    )
    assert sf.sf_instance == urlsplit(server.url).netloc
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_soap_login_refuses_a_wrong_password(session: requests.Session) -> None:
    """A wrong password is an INVALID_LOGIN fault."""
    with pytest.raises(SalesforceAuthenticationFailed, match="INVALID_LOGIN"):
        Salesforce(
            username="ops@example.com",
            password="nope",
            security_token="TOKEN",
            session=session,
        )


def test_client_credentials_login_on_my_domain(session: requests.Session) -> None:
    """The client credentials flow (Basic auth to a My Domain host) logs in."""
    sf = Salesforce(
        consumer_key="ledgerbridge",
        consumer_secret="sandbox-secret",
        domain="acme.my",
        session=session,
    )
    assert sf.Account.create({"Name": "Acme"})["success"] is True


def test_direct_mode_with_a_session_id(server: BackgroundServer, tls_files: TLSFiles) -> None:
    """A session id and instance URL are enough, with no login call by the client."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(tls_files.ca)
        token = session.post(
            f"{server.url}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "ledgerbridge",
                "client_secret": "sandbox-secret",
            },
            timeout=5,
        ).json()["access_token"]
        sf = Salesforce(instance_url=server.url, session_id=token, session=session)
        created = sf.Product2.create({"Name": "Widget"})
    assert created["id"].startswith("01t")


def test_crud_round_trip(sf: Salesforce) -> None:
    """create, get, update, upsert, get_by_custom_id and delete behave as on Salesforce."""
    created = sf.Account.create({"Name": "Acme", "BillingCity": "Lyon"})
    record = sf.Account.get(created["id"])
    assert record["Name"] == "Acme"
    assert record["attributes"]["type"] == "Account"
    assert sf.Account.update(created["id"], {"Name": "Acme SA"}) == 204
    assert sf.Account.get(created["id"])["Name"] == "Acme SA"
    assert sf.Account.upsert("ERP_Customer_Id__c/C-9", {"Name": "Nine"}) == 201
    assert sf.Account.upsert("ERP_Customer_Id__c/C-9", {"Name": "Nine Ltd"}) == 204
    assert sf.Account.get_by_custom_id("ERP_Customer_Id__c", "C-9")["Name"] == "Nine Ltd"
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(created["id"])
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used > 1
    assert sf.api_usage["api-usage"].total == 15000


def test_errors_map_to_the_clients_exceptions(sf: Salesforce) -> None:
    """400 and 300 bodies are what the client's exception handler expects."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.create({"Colour": "red"})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    for name in ("A", "B"):
        sf.Account.create({"Name": name, "ERP_Customer_Id__c": "DUP"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.upsert("ERP_Customer_Id__c/DUP", {"Name": "C"})


def test_query_and_query_all_follow_batches(sf: Salesforce) -> None:
    """query returns the first batch; query_all follows nextRecordsUrl over https."""
    for number in range(450):
        sf.Product2.create({"Name": f"P{number:03d}"})
    options = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Name FROM Product2 ORDER BY Name", headers=options)
    assert (first["totalSize"], first["done"], len(first["records"])) == (450, False, 200)
    every = sf.query_all("SELECT Name FROM Product2 ORDER BY Name", headers=options)
    assert [r["Name"] for r in every["records"]] == [f"P{n:03d}" for n in range(450)]


def test_an_expired_session_is_renewed_by_the_client(
    sf: Salesforce, server: BackgroundServer
) -> None:
    """After the org forgets the session, simple-salesforce logs in again on the 401."""
    sf.Account.create({"Name": "Acme"})
    app = server.app
    app.state.sandbox.store.revoke_sessions()
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Acme"


def test_describe_and_limits(sf: Salesforce) -> None:
    """describe(), SFType.describe() and metadata() and limits() return Salesforce's shapes."""
    names = {s["name"] for s in sf.describe()["sobjects"]}
    fields = {f["name"] for f in sf.Contact.describe()["fields"]}
    assert {"Account", "Contact", "Opportunity", "Case", "PricebookEntry"} <= names
    assert {"LastName", "AccountId", "Email"} <= fields
    assert sf.Opportunity.metadata()["objectDescribe"]["keyPrefix"] == "006"
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000


def test_collections_through_restful(sf: Salesforce) -> None:
    """sf.restful reaches composite/sobjects, as callers of the unmodified client do."""
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Acme"},
                {"attributes": {"type": "Account"}, "Name": "Beta"},
            ],
        },
    )
    assert [r["success"] for r in results] == [True, True]
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 2


def test_query_all_with_include_deleted(sf: Salesforce) -> None:
    """query_all(include_deleted=True) goes to queryAll and sees deleted records."""
    record_id = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(record_id)
    assert sf.query_all("SELECT Id FROM Account")["totalSize"] == 0
    deleted = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert deleted["records"][0]["IsDeleted"] is True


def test_the_quota_is_a_refused_request(tls_files: TLSFiles) -> None:
    """Past the daily quota simple-salesforce raises SalesforceRefusedRequest (403)."""
    with (
        BackgroundServer(create_app(daily_request_limit=1), tls=tls_files) as server,
        requests.Session() as session,
    ):
        session.trust_env = False
        session.verify = str(tls_files.ca)
        session.mount("https://", SandboxAdapter(server.url))
        sf = Salesforce(
            consumer_key="ledgerbridge",
            consumer_secret="sandbox-secret",
            domain="acme.my",
            session=session,
        )
        sf.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceRefusedRequest):
            sf.query("SELECT Id FROM Account")


def test_bulk2_ingest_round_trip(sf: Salesforce) -> None:
    """bulk2 insert, upsert, update and delete jobs run and report their counts."""
    inserted = sf.bulk2.Account.insert(
        records=[{"Name": f"A{i}", "ERP_Customer_Id__c": f"C{i}"} for i in range(3)]
        + [{"Name": "", "ERP_Customer_Id__c": "C9"}],
        wait=0,
    )
    assert (inserted[0]["numberRecordsProcessed"], inserted[0]["numberRecordsFailed"]) == (4, 1)
    failed = sf.bulk2.Account.get_failed_records(inserted[0]["job_id"])
    assert "REQUIRED_FIELD_MISSING" in failed
    successes = sf.bulk2.Account.get_successful_records(inserted[0]["job_id"])
    ids = [line.split(",")[0].strip('"') for line in successes.splitlines()[1:]]
    upserted = sf.bulk2.Account.upsert(
        records=[
            {"ERP_Customer_Id__c": "C0", "Name": "Zero"},
            {"ERP_Customer_Id__c": "C5", "Name": "Five"},
        ],
        external_id_field="ERP_Customer_Id__c",
        wait=0,
    )
    assert upserted[0]["numberRecordsFailed"] == 0
    sf.bulk2.Account.update(records=[{"Id": ids[1], "Phone": "555"}], wait=0)
    assert sf.Account.get(ids[1])["Phone"] == "555"
    deleted = sf.bulk2.Account.delete(records=[{"Id": ids[2]}], wait=0)
    assert deleted[0]["numberRecordsProcessed"] == 1
    names = sorted(r["Name"] for r in sf.query_all("SELECT Name FROM Account")["records"])
    assert names == ["A1", "Five", "Zero"]


def test_bulk2_query_and_query_all(sf: Salesforce) -> None:
    """bulk2 query pages CSV by locator; query_all includes deleted records."""
    sf.bulk2.Product2.insert(records=[{"Name": f"P{i:03d}"} for i in range(120)], wait=0)
    gone = sf.Product2.create({"Name": "Gone"})["id"]
    sf.Product2.delete(gone)
    pages = list(sf.bulk2.Product2.query("SELECT Name FROM Product2", max_records=50, wait=0))
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert sorted(r["Name"] for r in rows) == [f"P{i:03d}" for i in range(120)]
    every = list(sf.bulk2.Product2.query_all("SELECT Name, IsDeleted FROM Product2", wait=0))
    deleted = [r for r in csv.DictReader(io.StringIO(every[0])) if r["IsDeleted"] == "true"]
    assert [r["Name"] for r in deleted] == ["Gone"]


@pytest.fixture(scope="module")
def signing_key() -> tuple[str, str]:
    """An RSA private key (PEM) and its public key (PEM) for the JWT bearer flow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_jwt_bearer_login(tls_files: TLSFiles, signing_key: tuple[str, str]) -> None:
    """The JWT bearer flow logs in with a key the sandbox trusts and fails with another."""
    private, public = signing_key
    app = create_app(username="ops@example.com", jwt_certificate=public)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with BackgroundServer(app, tls=tls_files) as server, requests.Session() as session:
        session.trust_env = False
        session.verify = str(tls_files.ca)
        session.mount("https://", SandboxAdapter(server.url))
        sf = Salesforce(
            username="ops@example.com",
            consumer_key="ledgerbridge",
            privatekey=private,
            session=session,
        )
        assert sf.Account.create({"Name": "Via JWT"})["success"] is True
        with pytest.raises(SalesforceAuthenticationFailed, match="invalid signature"):
            Salesforce(
                username="ops@example.com",
                consumer_key="ledgerbridge",
                privatekey=stranger.decode(),
                session=session,
            )
        with pytest.raises(SalesforceAuthenticationFailed, match="client identifier"):
            Salesforce(
                username="ops@example.com",
                consumer_key="someone-else",
                privatekey=private,
                session=session,
            )


def test_updated_and_deleted(tls_files: TLSFiles) -> None:
    """SFType.updated() and deleted() read the replication API."""
    now = [datetime(2025, 3, 1, 12, 0, tzinfo=UTC)]
    app = create_app(clock=lambda: now[0])
    with BackgroundServer(app, tls=tls_files) as server, requests.Session() as session:
        session.trust_env = False
        session.verify = str(tls_files.ca)
        session.mount("https://", SandboxAdapter(server.url))
        sf = Salesforce(
            consumer_key="ledgerbridge",
            consumer_secret="sandbox-secret",
            domain="acme.my",
            session=session,
        )
        kept = sf.Account.create({"Name": "Kept"})["id"]
        gone = sf.Account.create({"Name": "Gone"})["id"]
        sf.Account.delete(gone)
        now[0] += timedelta(minutes=5)
        start, end = now[0] - timedelta(hours=1), now[0]
        assert sf.Account.updated(start, end)["ids"] == [kept]
        assert [r["id"] for r in sf.Account.deleted(start, end)["deletedRecords"]] == [gone]
