"""`python -m ledgerbridge` runs the command line."""

from ledgerbridge.cli import app

app()
