"""The relational store: SQLite by default, PostgreSQL when a URL says so, Alembic for schema."""

from ledgerbridge.runtime.store._store import Store
from ledgerbridge.runtime.store.checkpoints import load_checkpoint, save_checkpoint
from ledgerbridge.runtime.store.crosswalk import CrosswalkEntry, find_link, link
from ledgerbridge.runtime.store.schema import metadata

__all__ = [
    "CrosswalkEntry",
    "Store",
    "find_link",
    "link",
    "load_checkpoint",
    "metadata",
    "save_checkpoint",
]
