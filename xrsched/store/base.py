"""What every store shares: the batch of changes it writes, and its errors.

A store keeps the primary records of the scheduler (tasks, workers, scheduler-wide settings)
and the task history. The interface is deliberately small — load rows, write a batch, read
history — so that a PostgreSQL store can be added without touching the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class StoreError(Exception):
    """The store cannot do what was asked; the message says what and what to do."""


class StoreCorrupt(StoreError):
    """The state file is damaged, truncated, or not ours."""


class StoreTooNew(StoreError):
    """The state file was written by a newer xrsched (a newer schema version)."""


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

    def __bool__(self) -> bool:
        return bool(
            self.task_rows
            or self.removed_tasks
            or self.worker_rows
            or self.removed_workers
            or self.meta is not None
            or self.history
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
