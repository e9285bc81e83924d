"""API_CRDTMBUSINESSPARTNER: credit management master data (limits, blocks, exposure).

SAP publishes no EDMX for this service; entity and property names follow what public
code shows of it. Types and lengths are this sandbox's choice, and `CreditExposureAmount`
(open orders plus open receivables, in the segment currency) is the sandbox's addition
so that clients can see why an order was blocked.
"""

from __future__ import annotations

from ledgerbridge.sandboxes.erp.model import (
    EntityType,
    Nav,
    Service,
    boolean,
    changed_at,
    date,
    decimal,
    string,
)

CREDIT_MGMT_BUSINESS_PARTNER = EntityType(
    name="CreditMgmtBusinessPartner",
    entity_set="CreditMgmtBusinessPartner",
    keys=("BusinessPartner",),
    props=(
        string("BusinessPartner", 10, nullable=False),
        string("CrdtMgmtBusinessPartnerGroup", 4),
        string("CreditWorthinessScoreValue", 9),
        string("CreditRiskClass", 3),
        string("CreditCheckRule", 2),
        string("CreditScoreAndLimitCalcRule", 10),
        changed_at(etag=False),
    ),
    navs=(
        Nav(
            "to_CreditMgmtAccountTP",
            "CreditManagementAccount",
            True,
            (("BusinessPartner", "BusinessPartner"),),
        ),
    ),
)

CREDIT_MANAGEMENT_ACCOUNT = EntityType(
    name="CreditManagementAccount",
    entity_set="CreditManagementAccount",
    keys=("BusinessPartner", "CreditSegment"),
    props=(
        string("BusinessPartner", 10, nullable=False),
        string("CreditSegment", 10, nullable=False),
        boolean("BusinessPartnerIsCritical"),
        boolean("CreditAccountIsBlocked"),
        string("CreditAccountBlockReason", 2),
        decimal("CreditLimitAmount", 15, 2),
        date("CreditLimitValidityEndDate"),
        date("CreditLimitLastChangeDate"),
        boolean("CreditLimitIsZero"),
        string("CreditSegmentCurrency", 5),
        decimal("CreditExposureAmount", 15, 2),
        changed_at(etag=False),
    ),
)

API_CRDTMBUSINESSPARTNER = Service(
    name="API_CRDTMBUSINESSPARTNER",
    entity_types=(CREDIT_MGMT_BUSINESS_PARTNER, CREDIT_MANAGEMENT_ACCOUNT),
)
