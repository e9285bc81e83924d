"""ERP credit management System API."""
