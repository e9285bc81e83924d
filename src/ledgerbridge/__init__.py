"""ledgerbridge: API-led integration between a CRM and an ERP."""
