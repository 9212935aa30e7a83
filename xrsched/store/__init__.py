"""Durable state: the store interface, the embedded SQLite store, group commit, recovery.

The PostgreSQL store (``xrsched.store.postgres``) is imported only where it is used.
"""

from .base import Batch, Fenced, StateStore, StoreConnectionError, StoreCorrupt, StoreError, StoreTooNew
from .committer import GroupCommitter, StoreUnavailable
from .durability import encode_changes, load_into
from .sqlite import SQLiteStore

__all__ = [
    "Batch",
    "Fenced",
    "GroupCommitter",
    "SQLiteStore",
    "StateStore",
    "StoreConnectionError",
    "StoreCorrupt",
    "StoreError",
    "StoreTooNew",
    "StoreUnavailable",
    "encode_changes",
    "load_into",
]
