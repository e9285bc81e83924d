"""The product-and-pricing-sync Process API: ERP products and prices into the CRM."""
