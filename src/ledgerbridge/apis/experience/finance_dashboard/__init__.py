"""Finance-dashboard Experience API: order-to-cash KPIs, receivables aging, DSO, time series."""
