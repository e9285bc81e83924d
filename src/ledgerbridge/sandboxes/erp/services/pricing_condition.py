"""API_SLSPRICINGCONDITIONRECORD_SRV: sales price condition records and their validity."""

from __future__ import annotations

from ledgerbridge.sandboxes.erp.model import (
    EntityType,
    Nav,
    Prop,
    Service,
    boolean,
    changed_at,
    date,
    decimal,
    string,
)

# SAP puts ConcurrencyMode=Fixed on a property literally named ETag in this service.
_ETAG = Prop("ETag", "Edm.String", max_length=40, etag=True)

CONDITION_RECORD = EntityType(
    name="A_SlsPrcgConditionRecord",
    entity_set="A_SlsPrcgConditionRecord",
    keys=("ConditionRecord",),
    props=(
        string("ConditionRecord", 10, nullable=False),
        string("ConditionSequentialNumber", 2),
        string("ConditionTable", 3),
        string("ConditionApplication", 2),
        string("ConditionType", 4),
        date("ConditionValidityEndDate"),
        date("ConditionValidityStartDate"),
        string("CreatedByUser", 12),
        date("CreationDate"),
        string("ConditionCalculationType", 1),
        decimal("ConditionRateValue", 12, 3),
        string("ConditionRateValueUnit", 5),
        string("ConditionCurrency", 5),
        decimal("ConditionQuantity", 5, 0),
        string("ConditionQuantityUnit", 3),
        string("BaseUnit", 3),
        boolean("ConditionIsDeleted"),
        changed_at(etag=False),
        _ETAG,
    ),
    navs=(
        Nav(
            "to_SlsPrcgCndnRecdValidity",
            "A_SlsPrcgCndnRecdValidity",
            True,
            (("ConditionRecord", "ConditionRecord"),),
        ),
    ),
)

CONDITION_VALIDITY = EntityType(
    name="A_SlsPrcgCndnRecdValidity",
    entity_set="A_SlsPrcgCndnRecdValidity",
    keys=("ConditionRecord", "ConditionValidityEndDate"),
    props=(
        string("ConditionRecord", 10, nullable=False),
        Prop("ConditionValidityEndDate", "Edm.DateTime", precision=0, nullable=False),
        date("ConditionValidityStartDate"),
        string("ConditionApplication", 2),
        string("ConditionType", 4),
        string("ConditionReleaseStatus", 1),
        string("SalesOrganization", 4),
        string("DistributionChannel", 2),
        string("Division", 2),
        string("Customer", 10),
        string("Material", 40),
        _ETAG,
    ),
    navs=(
        Nav(
            "to_SlsPrcgConditionRecord",
            "A_SlsPrcgConditionRecord",
            False,
            (("ConditionRecord", "ConditionRecord"),),
        ),
    ),
)

API_SLSPRICINGCONDITIONRECORD_SRV = Service(
    name="API_SLSPRICINGCONDITIONRECORD_SRV",
    entity_types=(CONDITION_RECORD, CONDITION_VALIDITY),
)
