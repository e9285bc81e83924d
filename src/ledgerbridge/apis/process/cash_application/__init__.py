"""The cash-application Process API: incoming payments matched to open invoices and cleared."""
