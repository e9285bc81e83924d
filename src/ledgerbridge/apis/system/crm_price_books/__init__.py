"""crm-price-books System API."""
