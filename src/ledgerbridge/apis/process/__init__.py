"""ledgerbridge.apis.process"""
