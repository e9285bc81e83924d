"""An S/4HANA-compatible ERP sandbox serving SAP's OData V2 APIs over HTTP.

A separate program standing in for the real backend: tests and the demo start it, product
code never imports it. Usage::

    app = create_app(database="erp.sqlite", username="LEDGERBRIDGE", password="sandbox-secret")
"""

from ledgerbridge.sandboxes.erp.app import create_app

__all__ = ["create_app"]
