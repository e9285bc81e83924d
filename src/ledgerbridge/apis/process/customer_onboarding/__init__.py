"""The customer-onboarding Process API: CRM accounts as ERP customers, kept in sync both ways."""
