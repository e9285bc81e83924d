"""crm-opportunities System API."""
