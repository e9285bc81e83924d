"""Sales-desk Experience API: what a sales rep needs for a quote, inside the CRM."""
