"""crm-products System API."""
