"""API_BILLING_DOCUMENT_SRV: invoices created by the billing run, with their items."""

from __future__ import annotations

from ledgerbridge.sandboxes.erp.model import (
    ComplexType,
    EntityType,
    FunctionImport,
    Nav,
    Service,
    boolean,
    changed_at,
    date,
    decimal,
    string,
)

BILLING_DOCUMENT = EntityType(
    name="A_BillingDocument",
    entity_set="A_BillingDocument",
    keys=("BillingDocument",),
    props=(
        string("BillingDocument", 10, nullable=False),
        string("SDDocumentCategory", 4),
        string("BillingDocumentCategory", 1),
        string("BillingDocumentType", 4),
        date("CreationDate"),
        date("LastChangeDate"),
        changed_at(etag=True),
        string("SalesOrganization", 4),
        string("DistributionChannel", 2),
        string("Division", 2),
        date("BillingDocumentDate"),
        boolean("BillingDocumentIsCancelled"),
        string("CancelledBillingDocument", 10),
        decimal("TotalNetAmount", 16, 3),
        string("TransactionCurrency", 5),
        decimal("TaxAmount", 14, 3),
        decimal("TotalGrossAmount", 17, 3),
        string("PayerParty", 10),
        string("CustomerPaymentTerms", 4),
        string("CompanyCode", 4),
        string("FiscalYear", 4),
        string("AccountingDocument", 10),
        string("DocumentReferenceID", 16),
        string("SoldToParty", 10),
        string("PurchaseOrderByCustomer", 35),
        string("OverallBillingStatus", 1),
        string("AccountingPostingStatus", 1),
        string("AccountingTransferStatus", 1),
        string("InvoiceClearingStatus", 1),
    ),
    navs=(
        Nav("to_Item", "A_BillingDocumentItem", True, (("BillingDocument", "BillingDocument"),)),
    ),
)

BILLING_DOCUMENT_ITEM = EntityType(
    name="A_BillingDocumentItem",
    entity_set="A_BillingDocumentItem",
    keys=("BillingDocument", "BillingDocumentItem"),
    props=(
        string("BillingDocument", 10, nullable=False),
        string("BillingDocumentItem", 6, nullable=False),
        string("SalesDocumentItemCategory", 4),
        date("CreationDate"),
        string("Material", 40),
        string("BillingDocumentItemText", 40),
        decimal("BillingQuantity", 13, 3),
        string("BillingQuantityUnit", 3),
        decimal("NetAmount", 16, 3),
        string("TransactionCurrency", 5),
        decimal("GrossAmount", 16, 3),
        decimal("TaxAmount", 14, 3),
        string("ReferenceSDDocument", 10),
        string("ReferenceSDDocumentItem", 6),
        string("ReferenceSDDocumentCategory", 4),
        string("SalesDocument", 10),
        string("SalesDocumentItem", 6),
    ),
    navs=(
        Nav(
            "to_BillingDocument",
            "A_BillingDocument",
            False,
            (("BillingDocument", "BillingDocument"),),
        ),
    ),
)

CANCEL_RESULT = ComplexType(
    "CancelResult",
    (
        string("BillingDocument", 10, nullable=False),
        string("CancellationBillingDocument", 10, nullable=False),
        string("SystemMessageType", 1, nullable=False),
        string("SystemMessageIdentification", 20, nullable=False),
        string("SystemMessageNumber", 3, nullable=False),
        string("SystemMessageText", 256, nullable=False),
        string("SystemMessageVariable1", 50, nullable=False),
        string("SystemMessageVariable2", 50, nullable=False),
    ),
)

API_BILLING_DOCUMENT_SRV = Service(
    name="API_BILLING_DOCUMENT_SRV",
    entity_types=(BILLING_DOCUMENT, BILLING_DOCUMENT_ITEM),
    functions=(
        FunctionImport(
            "Cancel",
            "POST",
            (string("BillingDocument", 11000, nullable=False),),
            "CancelResult",
            returns_complex=True,
        ),
    ),
    complex_types=(CANCEL_RESULT,),
)
