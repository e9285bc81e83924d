"""ERP pricing (sales price condition records) System API."""
