"""The unmodified pyodata client against the ERP sandbox over real HTTP."""

from __future__ import annotations

import pyodata
import pytest
import requests
from pyodata.v2.service import Service

pytestmark = pytest.mark.slow


def _session(root: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.auth = ("LEDGERBRIDGE", "sandbox-secret")
    token = session.get(
        f"{root}/API_BUSINESS_PARTNER/",
        headers={"X-CSRF-Token": "Fetch", "Accept": "application/json"},
    )
    session.headers["X-CSRF-Token"] = token.headers["X-CSRF-Token"]
    return session


@pytest.fixture
def services(erp_server: str) -> tuple[Service, Service]:
    """pyodata clients for business partners and sales orders sharing one CSRF session."""
    session = _session(erp_server)
    partners = pyodata.Client(f"{erp_server}/API_BUSINESS_PARTNER/", session)
    orders = pyodata.Client(f"{erp_server}/API_SALES_ORDER_SRV/", session)
    return partners, orders


def _create_partner(partners: Service, name: str) -> str:
    request = partners.entity_sets.A_BusinessPartner.create_entity()
    request.set(
        BusinessPartnerCategory="2",
        OrganizationBPName1=name,
        BusinessPartnerIDByExtSystem=f"ext-{name}",
        to_BusinessPartnerAddress=[{"CityName": "Hamburg", "Country": "DE"}],
        to_Customer={"CustomerName": name},
    )
    created = request.execute()
    return str(created.BusinessPartner)


def test_metadata_loads_with_sap_names(services: tuple[Service, Service]) -> None:
    """pyodata builds its model from the generated $metadata."""
    partners, orders = services
    bp_type = partners.schema.entity_type("A_BusinessPartnerType")
    assert bp_type.proprty("BusinessPartner").typ.name == "Edm.String"
    nav = orders.schema.entity_type("A_SalesOrderType").nav_proprty("to_Item")
    assert nav.to_role.entity_type.name == "A_SalesOrderItemType"


def test_create_and_get_by_key(services: tuple[Service, Service]) -> None:
    """A deep create through pyodata (with a CSRF token) reads back by key."""
    partners, _ = services
    number = _create_partner(partners, "Acme")
    partner = (
        partners.entity_sets.A_BusinessPartner.get_entity(number).expand("to_Customer").execute()
    )
    assert partner.OrganizationBPName1 == "Acme"
    assert partner.to_Customer.CustomerName == "Acme"
    assert partner.CreationDate.year >= 2024


def test_query_filter_select_expand_paging_count(services: tuple[Service, Service]) -> None:
    """pyodata's query options and $count are honoured."""
    partners, orders = services
    sold_to = _create_partner(partners, "Buyer")
    products = pyodata.Client(
        orders.url.replace("API_SALES_ORDER_SRV", "API_PRODUCT_SRV"), orders.connection
    )
    product = products.entity_sets.A_Product.create_entity()
    product.set(Product="MAT", BaseUnit="EA")
    product.execute()
    for price in ("10.00", "20.00", "30.00"):
        create = orders.entity_sets.A_SalesOrder.create_entity()
        create.set(
            SalesOrderType="OR",
            SalesOrganization="1010",
            DistributionChannel="10",
            OrganizationDivision="00",
            SoldToParty=sold_to,
            TransactionCurrency="EUR",
            to_Item=[
                {
                    "Material": "MAT",
                    "RequestedQuantity": "1",
                    "to_PricingElement": [{"ConditionType": "PR00", "ConditionRateValue": price}],
                }
            ],
        )
        create.execute()
    sets = orders.entity_sets.A_SalesOrder
    found = (
        sets.get_entities()
        .filter("TotalNetAmount gt 15")
        .select("SalesOrder,TotalNetAmount")
        .expand("to_Item")
        .skip(1)
        .top(5)
        .count(inline=True)
        .execute()
    )
    assert found.total_count == 2
    assert [o.SalesOrder for o in found] == ["3"]
    assert found[0].TotalNetAmount == "30.00"  # pyodata hands Edm.Decimal back as text
    assert found[0].to_Item[0].Material == "MAT"
    assert sets.get_entities().count().execute() == 3
    by_builder = (
        sets.get_entities().filter(SoldToParty=sold_to, SalesOrder__in=["1", "3"]).execute()
    )
    assert sorted(o.SalesOrder for o in by_builder) == ["1", "3"]


def test_function_imports_load_from_metadata(erp_server: str) -> None:
    """pyodata reads function imports, entity-returning and complex-collection alike."""
    session = _session(erp_server)
    billing = pyodata.Client(f"{erp_server}/API_BILLING_DOCUMENT_SRV/", session)
    cancel = billing.schema.function_import("Cancel")
    assert cancel.http_method == "POST"
    assert cancel.return_type.name == "CancelResult"
    assert cancel.return_type.is_collection
    orders = pyodata.Client(f"{erp_server}/API_SALES_ORDER_SRV/", session)
    release = orders.schema.function_import("releaseCreditBlock")
    assert release.return_type.name == "A_SalesOrderType"
