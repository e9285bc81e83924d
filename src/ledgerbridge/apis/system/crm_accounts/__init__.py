"""CRM accounts System API."""
