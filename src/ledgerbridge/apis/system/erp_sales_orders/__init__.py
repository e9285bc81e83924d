"""ERP sales orders System API."""
