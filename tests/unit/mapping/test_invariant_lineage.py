"""A broken canonical invariant is reported against the backend field that fed it."""

from __future__ import annotations

from typing import Any

import pytest

from ledgerbridge.canonical import Case, Invoice, Opportunity, Price
from ledgerbridge.mapping import load_mapping
from ledgerbridge.runtime.errors import MappingError

BILLING = {
    "BillingDocument": "90000042",
    "BillingDocumentDate": "/Date(1795478400000)/",
    "TransactionCurrency": "EUR",
    "TotalNetAmount": "210.12",
    "TaxAmount": "39.92",
    "TotalGrossAmount": "250.05",
}
CONDITION = {
    "ConditionRecord": "0000012345",
    "ConditionRateValue": "10",
    "ConditionRateValueUnit": "EUR",
    "to_SlsPrcgCndnRecdValidity": {
        "results": [
            {
                "Material": "GC1040",
                "ConditionValidityStartDate": "/Date(1767225600000)/",
                "ConditionValidityEndDate": "/Date(1764547200000)/",
            }
        ]
    },
}
OPPORTUNITY = {
    "Id": "0065g00000QrStUAAX",
    "Name": "Edge Emergency Generator",
    "StageName": "Closed Won",
    "CloseDate": "2026-12-15",
    "CurrencyIsoCode": "EUR",
    "Probability": 90.0,
}
CASE = {
    "Id": "5005g00000LmNoPAAX",
    "Subject": "Generator does not start",
    "Status": "Working",
    "CreatedDate": "2026-11-24T08:15:00.000+0000",
    "ClosedDate": "2026-11-24T16:40:00.000+0000",
}


@pytest.mark.parametrize(
    ("mapping", "record", "model", "record_id", "field", "value", "rule"),
    [
        (
            "s4_billing_document_to_invoice",
            BILLING,
            Invoice,
            "90000042",
            "TotalGrossAmount",
            "250.05",
            "Invoice.gross_total",
        ),
        (
            "s4_pricing_condition_to_price",
            CONDITION,
            Price,
            "0000012345",
            "to_SlsPrcgCndnRecdValidity.results[0].ConditionValidityEndDate",
            "/Date(1764547200000)/",
            "Price.valid_to",
        ),
        (
            "salesforce_opportunity_to_opportunity",
            OPPORTUNITY,
            Opportunity,
            "0065g00000QrStUAAX",
            "Probability",
            90.0,
            "Opportunity.probability",
        ),
        (
            "salesforce_case_to_case",
            CASE,
            Case,
            "5005g00000LmNoPAAX",
            "ClosedDate",
            "2026-11-24T16:40:00.000+0000",
            "Case.closed_at",
        ),
    ],
)
def test_invariant_traced_to_source(
    mapping: str,
    record: dict[str, Any],
    model: type[Any],
    record_id: str,
    field: str,
    value: Any,
    rule: str,
) -> None:
    """The error names the mapping, the record, the source field and its raw value."""
    with pytest.raises(MappingError) as caught:
        load_mapping(mapping).to_model(record, model)
    error = caught.value
    assert (error.mapping_id, error.record_id, error.field, error.value) == (
        mapping,
        record_id,
        field,
        value,
    )
    assert error.rule.startswith(rule)
