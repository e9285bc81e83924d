"""OData V2 protocol details of the ERP sandbox, checked over raw HTTP."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from ledgerbridge.sandboxes.erp import create_app

BP_SET = "/API_BUSINESS_PARTNER/A_BusinessPartner"
SO_SET = "/API_SALES_ORDER_SRV/A_SalesOrder"


async def test_requests_without_basic_auth_get_401(erp_app: FastAPI) -> None:
    """Every route demands HTTP Basic credentials."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=erp_app)) as anonymous:
        response = await anonymous.get(
            "http://erp.test/sap/opu/odata/sap/API_BUSINESS_PARTNER/$metadata"
        )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


async def test_metadata_is_xml_generated_from_the_model(http: httpx.AsyncClient) -> None:
    """$metadata is EDMX served as application/xml with SAP's names."""
    response = await http.get("/API_SALES_ORDER_SRV/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert 'EntityType Name="A_SalesOrderType"' in response.text
    assert 'Name="LastChangeDateTime" Type="Edm.DateTimeOffset"' in response.text
    assert 'ConcurrencyMode="Fixed"' in response.text


async def test_write_without_csrf_token_is_403_required(
    http: httpx.AsyncClient, partner_payload
) -> None:
    """A POST without a token gets 403 and X-CSRF-Token: Required."""
    response = await http.post(BP_SET, json=partner_payload())
    assert response.status_code == 403
    assert response.headers["X-CSRF-Token"] == "Required"
    assert response.json()["error"]["message"]["value"] == "CSRF token validation failed"


async def test_token_is_bound_to_its_session_cookie(
    erp_app: FastAPI, http: httpx.AsyncClient, csrf_token, partner_payload
) -> None:
    """A token fetched on one session is refused on another session."""
    token = await csrf_token(http)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=erp_app),
        base_url="http://erp.test/sap/opu/odata/sap",
        auth=("LEDGERBRIDGE", "sandbox-secret"),
        headers={"Accept": "application/json"},
    ) as other:
        refused = await other.post(BP_SET, json=partner_payload(), headers={"X-CSRF-Token": token})
    assert refused.status_code == 403
    accepted = await http.post(BP_SET, json=partner_payload(), headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201
    assert accepted.headers["Location"].endswith("A_BusinessPartner('1000000')")


async def test_entity_json_shape(
    http: httpx.AsyncClient, csrf_token, order_payload, partner_payload, products
) -> None:
    """Entities carry __metadata, /Date(ms)/ dates, string decimals and an ETag header."""
    token = await csrf_token(http)
    await http.post(BP_SET, json=partner_payload(), headers={"X-CSRF-Token": token})
    await http.post(SO_SET, json=order_payload("1000000"), headers={"X-CSRF-Token": token})
    response = await http.get(f"{SO_SET}('1')")
    body = response.json()["d"]
    assert body["__metadata"]["type"] == "API_SALES_ORDER_SRV.A_SalesOrderType"
    assert body["__metadata"]["etag"] == response.headers["ETag"]
    assert response.headers["ETag"].startswith("W/\"datetimeoffset'")
    assert body["TotalNetAmount"] == "21.00"
    assert body["SalesOrderDate"].startswith("/Date(")
    assert body["LastChangeDateTime"].endswith("+0000)/")
    assert body["to_Item"] == {"__deferred": {"uri": body["__metadata"]["uri"] + "/to_Item"}}


async def test_percent_encoded_keys_and_options(
    http: httpx.AsyncClient, csrf_token, partner_payload
) -> None:
    """Keys and query option names arrive percent-encoded and are decoded."""
    token = await csrf_token(http)
    await http.post(BP_SET, json=partner_payload(), headers={"X-CSRF-Token": token})
    by_key = await http.get("/API_BUSINESS_PARTNER/A_BusinessPartner%28%271000000%27%29")
    assert by_key.json()["d"]["BusinessPartner"] == "1000000"
    url = (
        "/API_BUSINESS_PARTNER/A_BusinessPartner"
        "?%24filter=BusinessPartner%20eq%20%271000000%27&%24inlinecount=allpages"
    )
    listed = await http.get(url)
    assert listed.json()["d"]["__count"] == "1"


async def test_count_navigation_and_format_option(
    erp_app: FastAPI, http: httpx.AsyncClient, csrf_token, partner_payload
) -> None:
    """/$count answers text, navigation segments resolve, $format=json works without Accept."""
    token = await csrf_token(http)
    for name in ("A", "B", "C"):
        await http.post(BP_SET, json=partner_payload(name), headers={"X-CSRF-Token": token})
    count = await http.get(f"{BP_SET}/$count", params={"$filter": "OrganizationBPName1 ne 'B'"})
    assert count.text == "2"
    addresses = await http.get(f"{BP_SET}('1000001')/to_BusinessPartnerAddress")
    assert addresses.json()["d"]["results"][0]["BusinessPartner"] == "1000001"
    customer = await http.get(f"{BP_SET}('1000001')/to_Customer")
    assert customer.json()["d"]["CustomerName"] == "B"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=erp_app), auth=("LEDGERBRIDGE", "sandbox-secret")
    ) as plain:
        atom = await plain.get(f"http://erp.test/sap/opu/odata/sap{BP_SET}")
        formatted = await plain.get(f"http://erp.test/sap/opu/odata/sap{BP_SET}?$format=json")
    assert atom.status_code == 406
    assert len(formatted.json()["d"]["results"]) == 3


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("OrganizationBPName1 eq 'Alpha' or OrganizationBPName1 eq 'Gamma'", ["Alpha", "Gamma"]),
        ("(OrganizationBPName1 gt 'Alpha' and OrganizationBPName1 lt 'Gamma')", ["Beta"]),
        ("not (OrganizationBPName1 ge 'Beta')", ["Alpha"]),
        ("startswith(OrganizationBPName1, 'Ga') eq true", ["Gamma"]),
        ("substringof('et', OrganizationBPName1)", ["Beta"]),
        ("OrganizationBPName1 le 'Beta' and BusinessPartner ne '1000000'", ["Beta"]),
        (
            "CreationDate ge datetime'2000-01-01T00:00:00' and endswith(OrganizationBPName1,'a')",
            ["Alpha", "Beta", "Gamma"],
        ),
        ("CreationDate lt datetime'2000-01-01T00:00'", []),
        ("tolower(OrganizationBPName1) eq 'beta'", ["Beta"]),
    ],
)
async def test_filter_grammar(
    http: httpx.AsyncClient, csrf_token, partner_payload, expression: str, expected: list[str]
) -> None:
    """The $filter grammar covers comparisons, boolean logic, functions and literals."""
    token = await csrf_token(http)
    for name in ("Alpha", "Beta", "Gamma"):
        await http.post(BP_SET, json=partner_payload(name), headers={"X-CSRF-Token": token})
    response = await http.get(
        BP_SET, params={"$filter": expression, "$orderby": "OrganizationBPName1"}
    )
    assert response.status_code == 200, response.text
    assert [e["OrganizationBPName1"] for e in response.json()["d"]["results"]] == expected


@pytest.mark.parametrize(
    "expression",
    [
        "OrganizationBPName1 eq",
        "OrganizationBPName1 eq 'x",
        "foo(OrganizationBPName1)",
        "Nope eq 1",
    ],
)
async def test_malformed_filter_is_400_with_sap_error_body(
    http: httpx.AsyncClient, expression: str
) -> None:
    """A bad $filter is answered 400 with SAP's error structure."""
    response = await http.get(BP_SET, params={"$filter": expression})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"]["lang"] == "en"
    assert error["code"]
    assert "innererror" in error


async def test_unknown_property_in_payload_is_400(http: httpx.AsyncClient, csrf_token) -> None:
    """Posting a property the type does not have is refused, naming it."""
    token = await csrf_token(http)
    response = await http.post(
        BP_SET,
        json={"BusinessPartnerCategory": "2", "OrganizationBPName1": "X", "Bogus": "1"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 400
    assert "Bogus" in response.json()["error"]["message"]["value"]


async def test_item_without_price_rolls_back_whole_order(
    http: httpx.AsyncClient, csrf_token, partner_payload, order_payload, products
) -> None:
    """A deep insert failing on its second item leaves no order, item or number behind."""
    token = await csrf_token(http)
    await http.post(BP_SET, json=partner_payload(), headers={"X-CSRF-Token": token})
    payload = order_payload("1000000", prices=("1.00", "2.00"))
    del payload["to_Item"][1]["to_PricingElement"]
    failed = await http.post(SO_SET, json=payload, headers={"X-CSRF-Token": token})
    assert failed.status_code == 400
    assert "PR00" in failed.json()["error"]["message"]["value"]
    assert (await http.get("/API_SALES_ORDER_SRV/A_SalesOrderItem/$count")).text == "0"
    ok = await http.post(SO_SET, json=order_payload("1000000"), headers={"X-CSRF-Token": token})
    assert ok.json()["d"]["SalesOrder"] == "1"


async def test_database_file_persists_across_apps(tmp_path, partner_payload) -> None:
    """With a file database, data survives a new app instance."""
    path = str(tmp_path / "erp.sqlite")
    for expected in ("1000000", "1000001"):
        app = create_app(database=path)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://erp.test/sap/opu/odata/sap",
            auth=("LEDGERBRIDGE", "sandbox-secret"),
            headers={"Accept": "application/json"},
        ) as client:
            fetched = await client.get("/API_BUSINESS_PARTNER/", headers={"X-CSRF-Token": "Fetch"})
            token = fetched.headers["X-CSRF-Token"]
            created = await client.post(
                BP_SET, json=partner_payload(), headers={"X-CSRF-Token": token}
            )
            assert created.json()["d"]["BusinessPartner"] == expected
        app.state.store.close()
