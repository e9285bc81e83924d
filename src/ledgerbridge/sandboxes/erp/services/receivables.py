"""API_OPLACCTGDOCITEMCUBE_SRV: accounts receivable line items, open and cleared."""

from __future__ import annotations

from ledgerbridge.sandboxes.erp.model import EntityType, Service, boolean, date, decimal, string

OPERATIONAL_ACCTG_DOC_ITEM = EntityType(
    name="A_OperationalAcctgDocItemCube",
    entity_set="A_OperationalAcctgDocItemCube",
    keys=("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem"),
    props=(
        string("CompanyCode", 4, nullable=False),
        string("FiscalYear", 4, nullable=False),
        string("AccountingDocument", 10, nullable=False),
        string("AccountingDocumentItem", 3, nullable=False),
        string("AccountingDocumentType", 2),
        date("PostingDate"),
        date("DocumentDate"),
        date("NetDueDate"),
        string("Customer", 10),
        string("CustomerName", 80),
        string("FinancialAccountType", 1),
        string("DebitCreditCode", 1),
        string("BillingDocument", 10),
        string("SalesDocument", 10),
        string("InvoiceReference", 10),
        string("InvoiceReferenceFiscalYear", 4),
        string("InvoiceItemReference", 3),
        boolean("IsCleared"),
        date("ClearingDate"),
        string("ClearingAccountingDocument", 10),
        string("ClearingDocFiscalYear", 4),
        decimal("AmountInTransactionCurrency", 24, 3),
        string("TransactionCurrency", 5),
        decimal("AmountInCompanyCodeCurrency", 24, 3),
        string("CompanyCodeCurrency", 5),
        string("PaymentTerms", 4),
        string("PaymentReference", 30),
        string("DocumentReferenceID", 16),
        string("AssignmentReference", 18),
        date("LastChangeDate"),
    ),
)

API_OPLACCTGDOCITEMCUBE_SRV = Service(
    name="API_OPLACCTGDOCITEMCUBE_SRV", entity_types=(OPERATIONAL_ACCTG_DOC_ITEM,)
)
