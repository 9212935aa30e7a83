"""DONE tasks restored without being built: kept as stored rows until something asks for them.

Most stored tasks are DONE, and a DONE task enters few indexes: its status set, the ``related``
set of its workers, the reverse dependency index, and a removal deadline when nobody holds it.
A store that can hand those over in bulk (a snapshot, see :mod:`xrsched.store.snapshot`) lets
start-up skip building a million Task objects: :class:`TaskTable` keeps such tasks as rows and
builds each one the first time the core looks it up (:meth:`TaskTable.get`, ``[]``), exactly as
start-up would have built it, with its derived counts (``unmet``, ``blocked``) taken from the
records as they are at that moment. Nothing is read from outside the core: the store hands in
the records and the function that decodes them.

The derived counts of a cold task are not kept up to date while it is cold (a DONE task's
counts feed no index): the propagation of a status change looks at built tasks only, and
building a task counts afresh.

Iterating the table builds every cold task first, which at a million tasks takes seconds: the
service builds them beforehand a slice at a time (:meth:`TaskTable.thaw_some`), one slice per
hold of its lock, so that no call waits for all of them at once.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import filterfalse
from typing import TYPE_CHECKING, Any

from .model import Task
from .states import DISABLED, DONE, PENDING

if TYPE_CHECKING:
    from .state import SchedulerState

#: (stakeholders, workers) of a group of cold tasks.
Members = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass
class ColdTasks:
    """DONE tasks as a store hands them over in bulk, with what the indexes need of them.

    Every task named here is DONE; ``ids`` are distinct and sorted, and ``decode(positions)``
    builds the tasks ``ids[i]`` for each position, as stored (their derived counts at 0). The
    ``replaced`` ones are not restored from here (changed since: deleted, or among the tasks
    restored built); the other fields may still name them.
    """

    ids: list[str]
    decode: Callable[[list[int]], list[Task]]
    #: (stakeholders, workers) as stored -> the ids of the tasks holding exactly those.
    groups: dict[Members, list[str]] = field(default_factory=dict)
    #: task id -> its stored removal time, for the tasks that have one.
    removes: dict[str, float] = field(default_factory=dict)
    #: The reverse dependency index of these tasks alone, in the shape of ``SchedulerState.rdeps``.
    links: dict[str, str | tuple[str, ...] | set[str]] = field(default_factory=dict)
    #: The highest creation number among them (the replaced ones left out).
    top_seq: int = 0
    #: Ids to leave out.
    replaced: set[str] = field(default_factory=set)


class TaskTable(dict):  # type: ignore[type-arg]
    """``SchedulerState.tasks`` after a restore with cold tasks: id -> Task, the cold ones built
    on first lookup. Lookups, ``in`` and ``len`` build nothing but the task asked for;
    iterating builds every cold task first (the dashboard's listings, a search: once);
    :meth:`thaw_some` builds the next few.

    A cold task is one of the restored ids still in the DONE set and not built: building it or
    changing it builds it first, so no set of its own is needed (a million ids would cost a
    tenth of a start-up to hash again). Once built (or deleted) an id is never cold again, so
    :meth:`thaw_some` walks the sorted ids once, from where it stopped."""

    __slots__ = ("_cursor", "_done", "_ids", "_left", "_thaw", "built")

    def __init__(self, ids: list[str], done: set[str], thaw: Callable[[list[int]], list[Task]], left: int) -> None:
        super().__init__()
        self._ids = ids
        self._done = done
        self._left = left
        self._thaw = thaw
        self._cursor = 0
        #: How many cold tasks have been built so far, by any means (lookups, slices, iteration).
        self.built = 0

    @property
    def cold_count(self) -> int:
        """How many tasks are not built yet."""
        return self._left

    def is_cold(self, task_id: object) -> bool:
        """Whether ``task_id`` names a task not built yet (a DONE task)."""
        return self._left > 0 and task_id in self._done and not dict.__contains__(self, task_id)

    def hot(self, task_id: str) -> Task | None:
        """The task if it is built, without building a cold one."""
        return dict.get(self, task_id)

    def thaw(self, task_id: str) -> Task:
        """Build a cold task and keep it (KeyError if ``task_id`` is not cold)."""
        task = self.peek(task_id)
        dict.__setitem__(self, task_id, task)
        self._kept(1)
        return task

    def peek(self, task_id: str) -> Task:
        """The task a cold one would be built as now, without keeping it (for checks and tools)."""
        if not self.is_cold(task_id):
            raise KeyError(task_id)
        ids = self._ids
        i = bisect_left(ids, task_id)
        if i == len(ids) or ids[i] != task_id:
            raise KeyError(task_id)  # DONE and not built, yet never restored cold: impossible
        return self._thaw([i])[0]

    def cold_ids(self) -> list[str]:
        """The ids of the tasks not built yet."""
        return [task_id for task_id in self._ids if self.is_cold(task_id)] if self._left else []

    def thaw_all(self, batch: int = 10_000) -> None:
        """Build every cold task (a batch at a time: several times faster than one by one)."""
        while self._left:
            self.thaw_some(batch)

    def thaw_some(self, most: int) -> int:
        """Build up to ``most`` (at least 1) cold tasks, the next ones in id order, exactly as a
        lookup would build each of them now; returns how many are left cold."""
        ids, done, cursor = self._ids, self._done, self._cursor
        end = len(ids)
        positions: list[int] = []
        while cursor < end and len(positions) < most:
            task_id = ids[cursor]
            if task_id in done and not dict.__contains__(self, task_id):
                positions.append(cursor)
            cursor += 1
        self._cursor = cursor
        if cursor == end:  # the whole walk is done: these are the last ones
            self._left = len(positions)
        if positions:
            for task in self._thaw(positions):
                dict.__setitem__(self, task.id, task)
        self._kept(len(positions))
        return self._left

    def _kept(self, count: int) -> None:
        """``count`` cold tasks were just built and kept; once none is left, let the store's
        copy of the records go."""
        self.built += count
        self._left -= count
        if not self._left and self._ids:
            self._ids = []
            self._cursor = 0
            self._thaw = _nothing_left

    def get(self, task_id: str, default: Any = None) -> Any:  # type: ignore[override]
        """The task, built first if it is cold."""
        task = dict.get(self, task_id)
        if task is None:
            return self.thaw(task_id) if self.is_cold(task_id) else default
        return task

    def __missing__(self, task_id: str) -> Task:
        return self.thaw(task_id)

    def __contains__(self, task_id: object) -> bool:
        return dict.__contains__(self, task_id) or self.is_cold(task_id)

    def __len__(self) -> int:
        return dict.__len__(self) + self._left

    def __delitem__(self, task_id: str) -> None:
        if self.is_cold(task_id):
            self.thaw(task_id)
        dict.__delitem__(self, task_id)

    def __iter__(self) -> Iterator[str]:
        self.thaw_all()
        return dict.__iter__(self)

    def keys(self) -> Any:  # type: ignore[override]
        """Every id (building every cold task first)."""
        self.thaw_all()
        return dict.keys(self)

    def values(self) -> Any:  # type: ignore[override]
        """Every task (building every cold task first)."""
        self.thaw_all()
        return dict.values(self)

    def items(self) -> Any:  # type: ignore[override]
        """Every (id, task) (building every cold task first)."""
        self.thaw_all()
        return dict.items(self)

    def __eq__(self, other: object) -> bool:
        self.thaw_all()
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]


def _nothing_left(positions: list[int]) -> list[Task]:
    raise KeyError("no cold task is left")


def hot_tasks(records: dict[str, Task]) -> Iterator[Task]:
    """The tasks already built (every task of a plain dict), without building cold ones."""
    return iter(dict.values(records))


def install(state: SchedulerState, cold: ColdTasks, remove_at: float) -> list[tuple[float, str, str]]:
    """Put ``cold`` into a state being restored, its workers already in (its tasks not built);
    returns their removal deadlines.

    As for the tasks start-up builds, workers the store has no record of are dropped from a
    task (those known at the restore decide, whenever the task is built), and a task nobody holds
    is removed at ``remove_at`` unless it has a removal time already."""
    known = set(state.workers)
    kept_of: dict[tuple[str, ...], tuple[str, ...]] = {(): ()}

    def kept(ids: tuple[str, ...]) -> tuple[str, ...]:
        found = kept_of.get(ids)
        if found is None:
            found = kept_of[ids] = ids if all(w in known for w in ids) else tuple(w for w in ids if w in known)
        return found

    replaced = cold.replaced
    late_removes: dict[str, float] = {}
    timed = [(when, "remove", task_id) for task_id, when in cold.removes.items() if task_id not in replaced]
    for (holders, runners), ids in cold.groups.items():
        if replaced:
            ids = list(filterfalse(replaced.__contains__, ids))
        kept_holders = kept(holders)
        for worker_id in dict.fromkeys((*kept_holders, *kept(runners))):
            state.workers[worker_id].related.update(ids)
        if not kept_holders and ids:
            orphans = [task_id for task_id in ids if task_id not in cold.removes]
            late_removes.update(dict.fromkeys(orphans, remove_at))
            timed.extend((remove_at, "remove", task_id) for task_id in orphans)
    done = state.by_status[DONE]
    done.update(filterfalse(replaced.__contains__, cold.ids) if replaced else cold.ids)
    state.rdeps = cold.links
    gone = _positions(cold.ids, replaced)
    for task in cold.decode(gone) if gone else ():
        for dep in task.deps:
            state._unlink(dep, task.id)
    thaw = _thawing(state, cold.decode, kept, late_removes)
    state.tasks = TaskTable(cold.ids, done, thaw, len(cold.ids) - len(gone))
    return timed


def _positions(ids: list[str], wanted: set[str]) -> list[int]:
    """Where the ``wanted`` ids that are among the sorted ``ids`` stand."""
    found = []
    for task_id in sorted(wanted):
        i = bisect_left(ids, task_id)
        if i < len(ids) and ids[i] == task_id:
            found.append(i)
    return found


def _thawing(
    state: SchedulerState,
    decode: Callable[[list[int]], list[Task]],
    kept: Callable[[tuple[str, ...]], tuple[str, ...]],
    late_removes: dict[str, float],
) -> Callable[[list[int]], list[Task]]:
    """The function that builds cold tasks (by position) as start-up would have built them."""

    def thaw(positions: list[int]) -> list[Task]:
        tasks = decode(positions)
        for task in tasks:
            task.stakeholders = kept(task.stakeholders)
            task.workers = task.stakeholders if task.workers == task.stakeholders else kept(task.workers)
            if task.id in late_removes:
                task.remove = late_removes[task.id]
            if task.deps:
                task.unmet, task.blocked = _counts(state, task.deps)
        return tasks

    return thaw


def _counts(state: SchedulerState, deps: tuple[str, ...]) -> tuple[int, int]:
    """``unmet`` and ``blocked`` of a task with these dependencies, from the records now,
    building no cold task (a cold task is DONE: met, and not disabled upstream)."""
    records = state.tasks
    unmet = blocked = 0
    for dep in deps:
        dep_task = records.hot(dep) if isinstance(records, TaskTable) else records.get(dep)
        if dep_task is None:
            if dep not in records:  # else a cold task: DONE
                unmet += 1
            continue
        if dep_task.status != DONE:
            unmet += 1
        if dep_task.status == DISABLED or (dep_task.status == PENDING and dep_task.blocked > 0):
            blocked += 1
    return unmet, blocked
