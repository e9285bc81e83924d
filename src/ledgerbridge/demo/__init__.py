"""The order-to-cash demo: sandboxes, the whole house and sample orders in one process."""
