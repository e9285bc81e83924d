"""Shapes of backend ids, checked at the System layer's edge before they reach a query."""

SALESFORCE_ID = r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$"
SAP_DOCUMENT_NUMBER = r"^[0-9A-Za-z]{1,10}$"
