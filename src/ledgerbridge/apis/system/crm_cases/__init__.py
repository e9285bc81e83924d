"""crm-cases System API."""
