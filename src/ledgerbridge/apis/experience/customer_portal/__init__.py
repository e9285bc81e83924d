"""Customer portal Experience API."""
