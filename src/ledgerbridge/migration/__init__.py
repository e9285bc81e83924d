"""ledgerbridge.migration"""
