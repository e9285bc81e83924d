"""API_BUSINESS_PARTNER: business partners, their addresses and the customer role."""

from __future__ import annotations

from ledgerbridge.sandboxes.erp.model import EntityType, Nav, Service, boolean, date, string

BUSINESS_PARTNER = EntityType(
    name="A_BusinessPartner",
    entity_set="A_BusinessPartner",
    keys=("BusinessPartner",),
    props=(
        string("BusinessPartner", 10, nullable=False),
        string("Customer", 10),
        string("BusinessPartnerCategory", 1),
        string("BusinessPartnerFullName", 81),
        string("BusinessPartnerGrouping", 4),
        string("BusinessPartnerName", 81),
        string("CorrespondenceLanguage", 2),
        string("CreatedByUser", 12),
        date("CreationDate"),
        string("FirstName", 40),
        string("Industry", 10),
        string("Language", 2),
        date("LastChangeDate"),
        string("LastChangedByUser", 12),
        string("LastName", 40),
        string("OrganizationBPName1", 40),
        string("OrganizationBPName2", 40),
        string("SearchTerm1", 20),
        string("SearchTerm2", 20),
        boolean("BusinessPartnerIsBlocked"),
        string("BusinessPartnerType", 4),
        boolean("IsMarkedForArchiving"),
        string("BusinessPartnerIDByExtSystem", 20),
    ),
    navs=(
        Nav(
            "to_BusinessPartnerAddress",
            "A_BusinessPartnerAddress",
            True,
            (("BusinessPartner", "BusinessPartner"),),
        ),
        Nav("to_Customer", "A_Customer", False, (("BusinessPartner", "Customer"),)),
    ),
)

BUSINESS_PARTNER_ADDRESS = EntityType(
    name="A_BusinessPartnerAddress",
    entity_set="A_BusinessPartnerAddress",
    keys=("BusinessPartner", "AddressID"),
    props=(
        string("BusinessPartner", 10, nullable=False),
        string("AddressID", 10, nullable=False),
        string("CityName", 40),
        string("Country", 3),
        string("FullName", 80),
        string("HouseNumber", 10),
        string("Language", 2),
        string("PostalCode", 10),
        string("Region", 3),
        string("StreetName", 60),
        string("AddressIDByExternalSystem", 20),
    ),
)

CUSTOMER = EntityType(
    name="A_Customer",
    entity_set="A_Customer",
    keys=("Customer",),
    props=(
        string("Customer", 10, nullable=False),
        string("BillingIsBlockedForCustomer", 2),
        string("CreatedByUser", 12),
        date("CreationDate"),
        string("CustomerAccountGroup", 4),
        string("CustomerClassification", 2),
        string("CustomerFullName", 220),
        string("CustomerName", 80),
        string("DeliveryIsBlocked", 2),
        string("OrderIsBlockedForCustomer", 2),
        boolean("PostingIsBlocked"),
        string("Industry", 4),
        string("TaxNumber1", 16),
        string("VATRegistration", 20),
        boolean("DeletionIndicator"),
    ),
)

API_BUSINESS_PARTNER = Service(
    name="API_BUSINESS_PARTNER",
    entity_types=(BUSINESS_PARTNER, BUSINESS_PARTNER_ADDRESS, CUSTOMER),
)
