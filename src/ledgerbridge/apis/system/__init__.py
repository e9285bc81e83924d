"""ledgerbridge.apis.system"""
