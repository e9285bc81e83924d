"""ledgerbridge.connectors"""
