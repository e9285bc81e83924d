"""crm-contacts System API."""
