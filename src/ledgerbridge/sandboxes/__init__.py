"""ledgerbridge.sandboxes"""
