"""A Salesforce-compatible CRM sandbox: OAuth, sObject REST and SOQL over SQLite.

from ledgerbridge.sandboxes.crm import create_app

app = create_app(database=":memory:")
"""

from ledgerbridge.sandboxes.crm.app import create_app
from ledgerbridge.sandboxes.crm.certificates import TLSFiles, issue_certificates
from ledgerbridge.sandboxes.crm.server import BackgroundServer, serve

__all__ = ["BackgroundServer", "TLSFiles", "create_app", "issue_certificates", "serve"]
