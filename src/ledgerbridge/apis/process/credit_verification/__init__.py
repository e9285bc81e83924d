"""Credit-verification Process API."""
