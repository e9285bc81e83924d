"""Service-console Experience API: the call centre's customer 360."""
