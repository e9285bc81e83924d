"""ERP receivables and payments System API."""
