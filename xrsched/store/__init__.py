"""Durable state: the store interface, the embedded SQLite store, group commit, recovery."""

from .base import Batch, StoreCorrupt, StoreError, StoreTooNew
from .committer import GroupCommitter, StoreUnavailable
from .durability import encode_changes, load_into
from .sqlite import SQLiteStore

__all__ = [
    "Batch",
    "GroupCommitter",
    "SQLiteStore",
    "StoreCorrupt",
    "StoreError",
    "StoreTooNew",
    "StoreUnavailable",
    "encode_changes",
    "load_into",
]
