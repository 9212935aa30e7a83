"""The dashboard's indexes: counts per family and status, and tasks ordered by last update.

Built from the records on first use (a scheduler nobody looks at pays nothing), then kept
exact by :class:`~xrsched.core.state.SchedulerState` on every edit, creation and deletion, so
``overview`` and ``task_page`` never scan all tasks to count or to order them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .model import Task
from .sortedkeys import SortedKeys
from .states import TASK_STATUSES

#: A task's place in a listing: newest update first, then by task id.
RecencyKey = tuple[float, str]


def recency_key(updated: float, task_id: str) -> RecencyKey:
    """The sort key that puts the newest ``last_updated`` first and breaks ties by id."""
    return (-updated, task_id)


class Listings:
    """Per-family status counts, per-status recency order, and cached search texts."""

    __slots__ = ("_texts", "by_family", "recent")

    def __init__(self, tasks: Iterable[Task]) -> None:
        #: family -> status -> number of tasks (no zero entries, no empty families).
        self.by_family: dict[str, dict[str, int]] = {}
        keys: dict[str, list[RecencyKey]] = {status: [] for status in TASK_STATUSES}
        for task in tasks:
            self._count(task.family, task.status, 1)
            keys[task.status].append(recency_key(task.updated, task.id))
        #: status -> the ids of the tasks in that status, newest update first.
        self.recent: dict[str, SortedKeys] = {status: SortedKeys(ids) for status, ids in keys.items()}
        self._texts: dict[str, str] = {}

    def _count(self, family: str, status: str, delta: int) -> None:
        counts = self.by_family.get(family)
        if counts is None:
            counts = self.by_family[family] = {}
        left = counts.get(status, 0) + delta
        if left:
            counts[status] = left
        else:
            del counts[status]
            if not counts:
                del self.by_family[family]

    def added(self, task: Task) -> None:
        """A task was created."""
        self._count(task.family, task.status, 1)
        self.recent[task.status].add(recency_key(task.updated, task.id))

    def removed(self, task: Task) -> None:
        """A task was deleted (its fields are still those it was listed with)."""
        self._count(task.family, task.status, -1)
        self.recent[task.status].remove(recency_key(task.updated, task.id))
        self._texts.pop(task.id, None)

    def changed(self, task: Task, status: str, family: str, updated: float, params: Any, visibilities: Any) -> None:
        """A task was edited; ``status`` ... ``visibilities`` are what it was listed with before."""
        if family != task.family or params is not task.params or visibilities is not task.param_visibilities:
            self._texts.pop(task.id, None)
        elif status == task.status and updated == task.updated:
            return
        if status != task.status or family != task.family:
            self._count(family, status, -1)
            self._count(task.family, task.status, 1)
        if status != task.status or updated != task.updated:
            self.recent[status].remove(recency_key(updated, task.id))
            self.recent[task.status].add(recency_key(task.updated, task.id))

    def search_texts(self, ids: Iterable[str], tasks: dict[str, Task]) -> dict[str, str]:
        """What a search looks in, for at least ``ids``: the task id and display name (family and
        public parameter values), case-folded. Each is made once and kept until the task's
        family or parameters change."""
        texts = self._texts
        if len(texts) == len(tasks):  # every task's text is kept (only live tasks' texts are)
            return texts
        for task_id in ids:
            if task_id not in texts:
                texts[task_id] = f"{task_id}\n{tasks[task_id].pretty_id()}".casefold()
        return texts
