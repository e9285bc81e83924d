"""The backend-health System API: circuit breaker states of the backends."""
