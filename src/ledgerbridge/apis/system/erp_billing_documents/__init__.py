"""ERP billing documents (invoices) System API."""
