"""$batch with change sets: raw multipart over ASGI and pyodata's batch over real HTTP."""

from __future__ import annotations

import json

import httpx
import pyodata
import pytest
import requests

BOUNDARY = "batch_1"
CHANGESET = "changeset_1"


def _http_part(
    method: str, path: str, body: dict[str, object] | None = None, headers: str = ""
) -> str:
    lines = [
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
        "",
        f"{method} {path} HTTP/1.1",
    ]
    if headers:
        lines.append(headers)
    if body is not None:
        lines += ["Content-Type: application/json", "", json.dumps(body)]
    else:
        lines += ["", ""]
    return "\r\n".join(lines)


def _batch(*parts: str) -> str:
    chunks = []
    for part in parts:
        chunks += [f"--{BOUNDARY}", part]
    chunks.append(f"--{BOUNDARY}--")
    return "\r\n".join(chunks)


def _change_set(*parts: str) -> str:
    chunks = [f"Content-Type: multipart/mixed; boundary={CHANGESET}", ""]
    for part in parts:
        chunks += [f"--{CHANGESET}", part]
    chunks.append(f"--{CHANGESET}--")
    return "\r\n".join(chunks)


async def _post_batch(
    http: httpx.AsyncClient, token: str, service: str, body: str
) -> httpx.Response:
    return await http.post(
        f"/{service}/$batch",
        content=body.encode(),
        headers={"Content-Type": f"multipart/mixed; boundary={BOUNDARY}", "X-CSRF-Token": token},
    )


async def test_change_set_commits_in_order_and_reads_see_it(
    http: httpx.AsyncClient, csrf_token, partner_payload
) -> None:
    """A change set of two creates answers 202 with one 201 part each; a later GET sees both."""
    token = await csrf_token(http)
    body = _batch(
        _change_set(
            _http_part("POST", "A_BusinessPartner", partner_payload("First")),
            _http_part("POST", "A_BusinessPartner", partner_payload("Second")),
        ),
        _http_part("GET", "A_BusinessPartner/$count"),
    )
    response = await _post_batch(http, token, "API_BUSINESS_PARTNER", body)
    assert response.status_code == 202
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    text = response.text
    assert text.count("HTTP/1.1 201 Created") == 2
    assert text.index("1000000") < text.index("1000001")
    assert text.rstrip().endswith("--")
    assert "HTTP/1.1 200 OK" in text
    assert "Content-Type: text/plain\r\nContent-Length: 1\r\n\r\n2\r\n" in text


async def test_failing_change_set_rolls_back_all_its_writes(
    http: httpx.AsyncClient, csrf_token, partner_payload
) -> None:
    """When the second write of a change set fails, the first is undone and one error answers."""
    token = await csrf_token(http)
    body = _batch(
        _change_set(
            _http_part("POST", "A_BusinessPartner", partner_payload("Kept?")),
            _http_part("POST", "A_BusinessPartner", {"BusinessPartnerCategory": "9"}),
        ),
    )
    response = await _post_batch(http, token, "API_BUSINESS_PARTNER", body)
    assert response.status_code == 202
    assert "HTTP/1.1 400 Bad Request" in response.text
    assert "HTTP/1.1 201" not in response.text
    count = await http.get("/API_BUSINESS_PARTNER/A_BusinessPartner/$count")
    assert count.text == "0"


async def test_batch_needs_csrf_token(http: httpx.AsyncClient) -> None:
    """$batch is a write: without a token it is refused with 403 Required."""
    response = await http.post(
        "/API_BUSINESS_PARTNER/$batch",
        content=_batch(_http_part("GET", "A_BusinessPartner")).encode(),
        headers={"Content-Type": f"multipart/mixed; boundary={BOUNDARY}"},
    )
    assert response.status_code == 403
    assert response.headers["X-CSRF-Token"] == "Required"


async def test_write_outside_change_set_is_rejected(
    http: httpx.AsyncClient, csrf_token, partner_payload
) -> None:
    """A POST directly in the batch (not in a change set) is a 400."""
    token = await csrf_token(http)
    body = _batch(_http_part("POST", "A_BusinessPartner", partner_payload()))
    response = await _post_batch(http, token, "API_BUSINESS_PARTNER", body)
    assert response.status_code == 400


@pytest.mark.slow
def test_pyodata_batch_and_etag_update(erp_server: str) -> None:
    """pyodata's batch with a change set creates entities; its update carries If-Match."""
    session = requests.Session()
    session.trust_env = False
    session.auth = ("LEDGERBRIDGE", "sandbox-secret")
    fetched = session.get(f"{erp_server}/API_BUSINESS_PARTNER/", headers={"X-CSRF-Token": "Fetch"})
    session.headers["X-CSRF-Token"] = fetched.headers["X-CSRF-Token"]
    service = pyodata.Client(f"{erp_server}/API_BUSINESS_PARTNER/", session)

    batch = service.create_batch()
    change_set = service.create_changeset()
    for name in ("One", "Two"):
        create = service.entity_sets.A_BusinessPartner.create_entity()
        create.set(BusinessPartnerCategory="2", OrganizationBPName1=name)
        change_set.add_request(create)
    batch.add_request(change_set)
    batch.add_request(service.entity_sets.A_BusinessPartner.get_entity("1000000"))
    (created, read) = batch.execute()
    assert [e.BusinessPartner for e in created] == ["1000000", "1000001"]
    assert read.OrganizationBPName1 == "One"

    partner = service.entity_sets.A_BusinessPartner.get_entity("1000000").execute()
    update = service.entity_sets.A_BusinessPartner.update_entity("1000000")
    update.set(SearchTerm1="RENAMED")
    update.add_headers({"If-Match": partner.etag})
    update.execute()
    assert (
        service.entity_sets.A_BusinessPartner.get_entity("1000000").execute().SearchTerm1
        == "RENAMED"
    )

    stale = service.entity_sets.A_BusinessPartner.update_entity("1000000")
    stale.set(SearchTerm1="LOST")
    stale.add_headers({"If-Match": partner.etag})
    with pytest.raises(pyodata.exceptions.HttpError) as caught:
        stale.execute()
    assert caught.value.response.status_code == 412
