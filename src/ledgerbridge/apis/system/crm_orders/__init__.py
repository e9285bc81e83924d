"""CRM orders System API."""
