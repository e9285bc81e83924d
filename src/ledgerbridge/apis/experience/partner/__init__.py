"""Partner Experience API: B2B order submission, status, and signed webhooks."""
