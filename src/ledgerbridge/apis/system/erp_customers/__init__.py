"""ERP customers (business partners) System API."""
