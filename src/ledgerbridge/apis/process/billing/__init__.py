"""The billing Process API: ERP invoices onto the CRM order they bill."""
