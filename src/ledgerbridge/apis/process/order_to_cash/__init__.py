"""Order-to-cash Process API."""
