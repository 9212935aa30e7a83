"""What every store shares: the batch of changes it writes, and its errors.

A store keeps the primary records of the scheduler (tasks, workers, scheduler-wide settings)
and the task history. The interface is deliberately small — load rows, write a batch, read
history — so that a PostgreSQL store can be added without touching the core.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol


class StoreError(Exception):
    """The store cannot do what was asked; the message says what and what to do."""


class StoreCorrupt(StoreError):
    """The state file is damaged, truncated, or not ours."""


class StoreTooNew(StoreError):
    """The state file was written by a newer xrsched (a newer schema version)."""


class StoreConnectionError(StoreError):
    """The store cannot be reached at all: bad URL, wrong credentials, database unreachable."""


class Fenced(StoreError):
    """A newer leader took over the shared store: this server's writes are refused (fencing)."""


#: A remembered answer to a request id: (caller, request id, method, answer as JSON, time).
ReplyRow = tuple[str, str, str, str, float]


@dataclass
class Batch:
    """Changes to write together, in one transaction. Later changes override earlier ones."""

    task_rows: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    removed_tasks: set[str] = field(default_factory=set)
    worker_rows: dict[str, str] = field(default_factory=dict)
    removed_workers: set[str] = field(default_factory=set)
    meta: str | None = None
    #: (task id, old status, new status, time, worker, host)
    history: list[tuple[str, str, str, float, str | None, str | None]] = field(default_factory=list)
    #: Answers to request ids, kept with the state by stores that share it (PostgreSQL).
    replies: list[ReplyRow] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.task_rows
            or self.removed_tasks
            or self.worker_rows
            or self.removed_workers
            or self.meta is not None
            or self.history
            or self.replies
        )

    def absorb(self, later: Batch) -> None:
        """Fold a later batch into this one, as if both were applied in order."""
        for task_id, row in later.task_rows.items():
            self.removed_tasks.discard(task_id)
            self.task_rows[task_id] = row
        for task_id in later.removed_tasks:
            self.task_rows.pop(task_id, None)
            self.removed_tasks.add(task_id)
        for worker_id, row in later.worker_rows.items():
            self.removed_workers.discard(worker_id)
            self.worker_rows[worker_id] = row
        for worker_id in later.removed_workers:
            self.worker_rows.pop(worker_id, None)
            self.removed_workers.add(worker_id)
        if later.meta is not None:
            self.meta = later.meta
        self.history.extend(later.history)
        self.replies.extend(later.replies)


class StateStore(Protocol):
    """What the server, recovery and the offline tools need from a store (SQLite, PostgreSQL)."""

    kind: str
    #: Where the records live, for messages (a file path, or a URL without password).
    path: Any
    #: True when opening it made a brand-new, empty store.
    created: bool
    #: Whether :attr:`Batch.replies` are stored (answers to request ids survive a failover).
    keeps_replies: bool

    def load_meta(self) -> str | None:
        """The stored scheduler-wide settings (JSON), if any."""
        ...

    def reading(self) -> AbstractContextManager[None]:
        """One consistent read of everything inside the block."""
        ...

    def iter_tasks(self) -> Iterator[tuple[Any, ...]]:
        """Every stored task row."""
        ...

    def iter_task_batches(self, size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """Every stored task row, ``size`` at a time."""
        ...

    def iter_workers(self) -> Iterator[tuple[str, str]]:
        """(worker id, encoded row) for every stored worker."""
        ...

    def counts(self) -> dict[str, int]:
        """How many tasks, workers and history entries are stored."""
        ...

    def history(self, task_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The recorded transitions of one task, oldest first."""
        ...

    def write(self, batch: Batch) -> None:
        """Apply one batch in one transaction; durable when this returns."""
        ...

    def replace_all(self, tasks: list[tuple[Any, ...]], workers: list[tuple[str, str]], meta: str) -> None:
        """Replace every record (``xrsched state import``)."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...
