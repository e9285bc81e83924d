"""ledgerbridge.apis"""
