"""The generated $metadata agrees with SAP's published EDMX wherever the sandbox models it."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from ledgerbridge.sandboxes.erp.services import SERVICES

CONTRACTS = Path(__file__).resolve().parents[4] / "shared" / "contracts" / "sap"
EDM = "{http://schemas.microsoft.com/ado/2008/09/edm}"
FACETS = ("Type", "MaxLength", "Precision", "Scale")


def _types(xml: bytes) -> dict[str, ElementTree.Element]:
    root = ElementTree.fromstring(xml)  # noqa: S314 - our own output and SAP's published files
    return {t.get("Name", ""): t for t in root.iter(f"{EDM}EntityType")}


# Services SAP publishes metadata for; the credit and payment services are the sandbox's.
PUBLISHED = sorted(
    n for n in SERVICES if n not in {"API_CRDTMBUSINESSPARTNER", "ZLB_INCOMING_PAYMENT_SRV"}
)


@pytest.mark.parametrize("service_name", PUBLISHED)
async def test_metadata_matches_sap_contract(http: httpx.AsyncClient, service_name: str) -> None:
    """Every modelled property and navigation exists in SAP's EDMX with the same facets."""
    reference = CONTRACTS / f"{service_name}.edmx"
    if not reference.exists():
        pytest.skip("SAP contracts are not checked out beside the project")
    ours = _types((await http.get(f"/{service_name}/$metadata")).content)
    theirs = _types(reference.read_bytes())
    assert ours
    for name, entity in ours.items():
        sap = theirs[name]
        sap_props = {p.get("Name"): p for p in sap.iter(f"{EDM}Property")}
        for prop in entity.iter(f"{EDM}Property"):
            expected = sap_props[prop.get("Name")]
            for facet in FACETS:
                assert prop.get(facet) == expected.get(facet), (name, prop.get("Name"), facet)
        sap_navs = {n.get("Name") for n in sap.iter(f"{EDM}NavigationProperty")}
        assert {n.get("Name") for n in entity.iter(f"{EDM}NavigationProperty")} <= sap_navs
        sap_keys = [k.get("Name") for k in sap.iter(f"{EDM}PropertyRef")]
        assert [k.get("Name") for k in entity.iter(f"{EDM}PropertyRef")] == sap_keys
