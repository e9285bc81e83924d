"""ERP products (materials) System API."""
