"""ledgerbridge.runtime"""
