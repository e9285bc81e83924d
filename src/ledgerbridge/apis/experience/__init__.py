"""ledgerbridge.apis.experience"""
