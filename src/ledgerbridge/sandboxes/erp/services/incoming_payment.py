"""ZLB_INCOMING_PAYMENT_SRV: a customer-namespace service posting incoming payments.

S/4HANA posts payments through journal-entry SOAP services, not OData; the sandbox
offers this small Z service instead (SAP's convention for custom services), so that
a payment clears a billing document's open item fully or leaves a residual item.
"""

from __future__ import annotations

from ledgerbridge.sandboxes.erp.model import (
    EntityType,
    Service,
    changed_at,
    date,
    decimal,
    string,
)

INCOMING_PAYMENT = EntityType(
    name="IncomingPayment",
    entity_set="IncomingPayment",
    keys=("CompanyCode", "FiscalYear", "AccountingDocument"),
    props=(
        string("CompanyCode", 4, nullable=False),
        string("FiscalYear", 4, nullable=False),
        string("AccountingDocument", 10, nullable=False),
        string("Customer", 10),
        string("BillingDocument", 10),
        date("PostingDate"),
        date("DocumentDate"),
        decimal("AmountInTransactionCurrency", 24, 3),
        string("TransactionCurrency", 5),
        string("PaymentReference", 30),
        string("DocumentReferenceID", 16),
        decimal("ClearedAmount", 24, 3),
        decimal("ResidualAmount", 24, 3),
        string("ClearingStatus", 1),
        changed_at(etag=False),
    ),
)

ZLB_INCOMING_PAYMENT_SRV = Service(
    name="ZLB_INCOMING_PAYMENT_SRV", entity_types=(INCOMING_PAYMENT,)
)
