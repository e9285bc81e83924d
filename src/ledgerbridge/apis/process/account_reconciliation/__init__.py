"""The account-reconciliation Process API: CRM and ERP compared, differences classified."""
